//! Documents: the paths and schemas of a set of group-versions, written as
//! OpenAPI v3 or Swagger 2.0.

use std::io;

use serde_json::{Map, Value, json};

use crate::resources::RegistryView;

use super::components::{self, GVK_EXTENSION, V3_REF_PREFIX};
use super::paths::{self, Operation, Param, PathItem};

/// `info.version`: the Kubernetes API this server implements.
const INFO_VERSION: &str = "v1.33.0";
const V2_REF_PREFIX: &str = "#/definitions/";

/// The index key of a group-version: `api/v1`, `apis/{group}/{version}`.
pub(super) fn v3_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable hash of a document's JSON encoding (FNV-1a, 64 bits, as 16
/// upper-case hex digits): the same bytes give the same hash on every
/// build and platform, so clients' caches of hashed URLs stay valid
/// exactly as long as the document does.
pub(super) fn document_hash(doc: &Value) -> String {
    struct Fnv(u64);
    impl io::Write for Fnv {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            for byte in bytes {
                self.0 ^= u64::from(*byte);
                self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    // Writing a Value to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut hasher, doc);
    format!("{:016X}", hasher.0)
}

/// An object from `(key, value)` pairs. Values are moved in: `json!` would
/// copy an interpolated `Value` by serializing it.
pub(super) fn object<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// Paths and component schemas (v3 form) of some group-versions.
struct Collected {
    /// `(tag, path item)`.
    paths: Vec<(String, PathItem)>,
    schemas: Map<String, Value>,
    /// Custom resources' kind schemas (v2 writes them differently).
    custom_kinds: Vec<String>,
}

fn collect(view: &RegistryView, group_versions: &[(String, String)]) -> Collected {
    let builtins = components::builtins();
    let mut out = Collected {
        paths: Vec::new(),
        schemas: Map::new(),
        custom_kinds: Vec::new(),
    };
    for (group, version) in group_versions {
        let (_, tag) = paths::id_and_tag(group, version);
        out.paths
            .push((tag.clone(), paths::discovery_path(group, version)));
        for def in view.group_version(group, version) {
            let names = components::names(def);
            let kind_schema = match def.crd {
                None => builtins
                    .defs
                    .get(&names.kind)
                    .cloned()
                    .unwrap_or(Value::Null),
                Some(_) => {
                    out.custom_kinds.push(names.kind.clone());
                    components::custom_kind_schema(def)
                }
            };
            out.schemas
                .insert(names.list.clone(), components::list_schema(def, &names));
            out.schemas.insert(names.kind.clone(), kind_schema);
            for item in paths::resource_paths(def, &names) {
                out.paths.push((tag.clone(), item));
            }
        }
    }
    for name in components::SHARED {
        if let Some(schema) = builtins.defs.get(name) {
            out.schemas.entry(name).or_insert_with(|| schema.clone());
        }
    }
    close_over_references(&mut out.schemas, &builtins.defs);
    out
}

/// Adds every built-in definition the schemas refer to, transitively.
fn close_over_references(schemas: &mut Map<String, Value>, defs: &Map<String, Value>) {
    let mut pending: Vec<String> = schemas.keys().cloned().collect();
    while let Some(name) = pending.pop() {
        let mut missing = Vec::new();
        if let Some(schema) = schemas.get(&name) {
            components::for_each_reference(schema, &mut |r| {
                if !schemas.contains_key(r) && !missing.iter().any(|m| m == r) {
                    missing.push(r.to_owned());
                }
            });
        }
        for name in missing {
            if let Some(def) = defs.get(&name) {
                schemas.insert(name.clone(), def.clone());
                pending.push(name);
            }
        }
    }
}

fn security_scheme() -> Value {
    json!({
        "BearerToken": {
            "description": "Bearer Token authentication",
            "in": "header",
            "name": "authorization",
            "type": "apiKey",
        }
    })
}

/// One group-version's OpenAPI v3 document.
pub(super) fn v3_document(view: &RegistryView, group: &str, version: &str) -> Option<Value> {
    view.group_version(group, version).next()?;
    let collected = collect(view, &[(group.to_owned(), version.to_owned())]);
    let mut paths = Map::new();
    for (tag, item) in &collected.paths {
        paths.insert(item.path.clone(), v3_path_item(item, tag));
    }
    Some(object([
        ("openapi", json!("3.0.0")),
        (
            "info",
            json!({ "title": "Kubernetes", "version": INFO_VERSION }),
        ),
        ("paths", Value::Object(paths)),
        (
            "components",
            object([
                ("schemas", Value::Object(collected.schemas)),
                ("securitySchemes", security_scheme()),
            ]),
        ),
        ("security", json!([{ "BearerToken": [] }])),
    ]))
}

fn v3_path_item(item: &PathItem, tag: &str) -> Value {
    let mut out = Map::new();
    if !item.params.is_empty() {
        out.insert(
            "parameters".to_owned(),
            item.params.iter().map(v3_param).collect(),
        );
    }
    for op in &item.operations {
        out.insert(op.method.key().to_owned(), v3_operation(op, tag));
    }
    Value::Object(out)
}

fn v3_param(param: &Param) -> Value {
    let mut out = json!({
        "description": param.description,
        "in": if param.in_path { "path" } else { "query" },
        "name": param.name,
        "schema": { "type": param.type_.name(), "uniqueItems": true },
    });
    if param.in_path {
        out["required"] = Value::Bool(true);
    }
    out
}

fn v3_content(media_types: &[&str], schema: &str) -> Value {
    let reference = json!({ "schema": { "$ref": format!("{V3_REF_PREFIX}{schema}") } });
    Value::Object(
        media_types
            .iter()
            .map(|t| ((*t).to_owned(), reference.clone()))
            .collect(),
    )
}

fn v3_operation(op: &Operation, tag: &str) -> Value {
    let mut responses = Map::new();
    for (code, description) in op.responses {
        responses.insert(
            code.to_string(),
            object([
                ("content", v3_content(op.produces, &op.response_schema)),
                ("description", json!(description)),
            ]),
        );
    }
    responses.insert("401".to_owned(), json!({ "description": "Unauthorized" }));
    let mut out = object([
        ("description", json!(op.description)),
        ("operationId", json!(op.id)),
        ("responses", Value::Object(responses)),
        ("tags", json!([tag])),
        ("x-kubernetes-action", json!(op.action)),
    ]);
    // Inline, never `$ref`: kubectl's field-validation check reads the
    // names of the operation's own parameters.
    if !op.params.is_empty() {
        out["parameters"] = op.params.iter().map(v3_param).collect();
    }
    if let Some(body) = &op.body {
        let mut request = object([("content", v3_content(body.consumes, &body.schema))]);
        if body.required {
            request["required"] = Value::Bool(true);
        }
        out["requestBody"] = request;
    }
    if let Some(gvk) = &op.gvk {
        out[GVK_EXTENSION] = gvk.to_value();
    }
    out
}

/// The Swagger 2.0 document of every group-version.
pub(super) fn v2_document(view: &RegistryView) -> Value {
    let group_versions: Vec<(String, String)> = view
        .groups()
        .into_iter()
        .flat_map(|(group, versions)| versions.into_iter().map(move |v| (group.clone(), v)))
        .collect();
    let collected = collect(view, &group_versions);
    let mut paths = Map::new();
    for (tag, item) in &collected.paths {
        paths.insert(item.path.clone(), v2_path_item(item, tag));
    }
    let mut definitions = Map::new();
    for (name, schema) in &collected.schemas {
        let custom = collected.custom_kinds.contains(name);
        let schema = match schema {
            // apiextensions-apiserver publishes a custom resource that keeps
            // unknown fields as a bare object in v2: kubectl's v2 validation
            // would otherwise reject every field it does not know.
            Value::Object(obj)
                if custom
                    && obj.get("x-kubernetes-preserve-unknown-fields")
                        == Some(&Value::Bool(true)) =>
            {
                object([
                    ("type", json!("object")),
                    (
                        GVK_EXTENSION,
                        obj.get(GVK_EXTENSION).cloned().unwrap_or(Value::Null),
                    ),
                ])
            }
            other => to_v2_schema(other),
        };
        definitions.insert(name.clone(), schema);
    }
    object([
        ("swagger", json!("2.0")),
        (
            "info",
            json!({ "title": "Kubernetes", "version": INFO_VERSION }),
        ),
        ("paths", Value::Object(paths)),
        ("definitions", Value::Object(definitions)),
        ("securityDefinitions", security_scheme()),
        ("security", json!([{ "BearerToken": [] }])),
    ])
}

/// An OpenAPI v3 schema in Swagger 2.0 terms: `#/definitions/` references
/// (a described reference as `$ref` with siblings, as Kubernetes writes
/// v2), no `oneOf`/`anyOf`/`allOf`/`not` (value validations Kubernetes
/// strips from v2), and nullable fields untyped.
fn to_v2_schema(schema: &Value) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    if let Some(name) = components::reference(obj) {
        let mut out = Map::new();
        out.insert(
            "$ref".to_owned(),
            Value::String(format!("{V2_REF_PREFIX}{name}")),
        );
        for (key, value) in obj {
            if key != "$ref" && key != "allOf" {
                out.insert(key.clone(), value.clone());
            }
        }
        return Value::Object(out);
    }
    let mut out = components::map_subschemas(obj, &mut to_v2_schema);
    for key in ["oneOf", "anyOf", "allOf", "not"] {
        out.remove(key);
    }
    if out.remove("nullable") == Some(Value::Bool(true)) {
        out.remove("type");
    }
    Value::Object(out)
}

fn v2_param(param: &Param) -> Value {
    let mut out = json!({
        "description": param.description,
        "in": if param.in_path { "path" } else { "query" },
        "name": param.name,
        "type": param.type_.name(),
        "uniqueItems": true,
    });
    if param.in_path {
        out["required"] = Value::Bool(true);
    }
    out
}

fn v2_path_item(item: &PathItem, tag: &str) -> Value {
    let mut out = Map::new();
    if !item.params.is_empty() {
        out.insert(
            "parameters".to_owned(),
            item.params.iter().map(v2_param).collect(),
        );
    }
    for op in &item.operations {
        out.insert(op.method.key().to_owned(), v2_operation(op, tag));
    }
    Value::Object(out)
}

fn v2_operation(op: &Operation, tag: &str) -> Value {
    let reference = |schema: &str| json!({ "$ref": format!("{V2_REF_PREFIX}{schema}") });
    let mut responses = Map::new();
    for (code, description) in op.responses {
        responses.insert(
            code.to_string(),
            object([
                ("description", json!(description)),
                ("schema", reference(&op.response_schema)),
            ]),
        );
    }
    responses.insert("401".to_owned(), json!({ "description": "Unauthorized" }));
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = &op.body {
        let mut param = object([
            ("in", json!("body")),
            ("name", json!("body")),
            ("schema", reference(&body.schema)),
        ]);
        if body.required {
            param["required"] = Value::Bool(true);
        }
        params.push(param);
    }
    params.extend(op.params.iter().map(v2_param));
    let consumes = op.body.as_ref().map_or(paths::CONSUMES_ANY, |b| b.consumes);
    let mut out = object([
        ("consumes", json!(consumes)),
        ("description", json!(op.description)),
        ("operationId", json!(op.id)),
        ("produces", json!(op.produces)),
        ("responses", Value::Object(responses)),
        ("schemes", json!(["https"])),
        ("tags", json!([tag])),
        ("x-kubernetes-action", json!(op.action)),
    ]);
    if !params.is_empty() {
        out["parameters"] = Value::Array(params);
    }
    if let Some(gvk) = &op.gvk {
        out[GVK_EXTENSION] = gvk.to_value();
    }
    out
}
