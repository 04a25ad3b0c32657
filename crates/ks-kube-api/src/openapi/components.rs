//! Component schemas: the built-in kinds' (from k8s-openapi, generated once
//! per process), custom resources' (from their CRD), and list kinds'.

use std::sync::OnceLock;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::resources::ResourceDef;

/// The extension naming the kinds a schema (a list of `{group, kind,
/// version}`) or an operation (one of them) is about.
pub(super) const GVK_EXTENSION: &str = "x-kubernetes-group-version-kind";
/// How a `$ref` to a component starts in OpenAPI v3.
pub(super) const V3_REF_PREFIX: &str = "#/components/schemas/";

pub(super) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(super) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(super) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(super) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(super) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(super) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
const JSON_VALUE: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON";

/// Definitions every group-version document carries (the operations refer
/// to them), besides the kinds'.
pub(super) const SHARED: [&str; 6] = [
    STATUS,
    DELETE_OPTIONS,
    PATCH,
    WATCH_EVENT,
    API_RESOURCE_LIST,
    LIST_META,
];

// TypeMeta's and ObjectMeta's field descriptions, as Kubernetes publishes them.
const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// A group, version and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Gvk {
    pub(super) group: String,
    pub(super) version: String,
    pub(super) kind: String,
}

impl Gvk {
    pub(super) fn of(def: &ResourceDef) -> Gvk {
        Gvk {
            group: def.group.clone(),
            version: def.version.clone(),
            kind: def.kind.clone(),
        }
    }

    fn list_of(def: &ResourceDef) -> Gvk {
        Gvk {
            kind: def.list_kind.clone(),
            ..Gvk::of(def)
        }
    }

    /// The extension value on an operation: exactly these three keys, with
    /// `group` present even when empty (kubectl explain compares maps).
    pub(super) fn to_value(&self) -> Value {
        json!({ "group": self.group, "kind": self.kind, "version": self.version })
    }
}

/// The component names of a resource's kind and list kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Names {
    pub(super) kind: String,
    pub(super) list: String,
}

/// Names a resource's schemas the way Kubernetes does: built-in kinds by
/// Go package (k8s-openapi's names), custom resources by reversed group,
/// version and kind (apiextensions-apiserver's `ToRESTFriendlyName`).
pub(super) fn names(def: &ResourceDef) -> Names {
    let kind = match def.crd {
        None => builtins().name(&def.group, &def.kind).map_or_else(
            || custom_name(&def.group, &def.version, &def.kind),
            str::to_owned,
        ),
        Some(_) => custom_name(&def.group, &def.version, &def.kind),
    };
    let list = match kind.rsplit_once('.') {
        Some((package, _)) => format!("{package}.{}", def.list_kind),
        None => def.list_kind.clone(),
    };
    Names { kind, list }
}

/// `iam.kubesphere.io`, `v1alpha2`, `User` -> `io.kubesphere.iam.v1alpha2.User`.
fn custom_name(group: &str, version: &str, kind: &str) -> String {
    let mut name: String = group
        .rsplit('.')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    for part in [version, kind] {
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(part);
    }
    name
}

/// The built-in definitions, generated once per process.
#[derive(Debug)]
pub(super) struct Builtins {
    /// Every definition reachable from a built-in kind or a [`SHARED`] one,
    /// in OpenAPI v3 form (`$ref`s into `#/components/schemas/`, a `$ref`
    /// with a description wrapped in `allOf` as Kubernetes does), by name.
    pub(super) defs: Map<String, Value>,
    /// Per kind (in [`crate::kinds::builtins`] order): its group and kind,
    /// its definition's name and its self-contained schema.
    kinds: Vec<((String, String), String, Value)>,
}

impl Builtins {
    fn find(&self, group: &str, kind: &str) -> Option<&((String, String), String, Value)> {
        self.kinds
            .iter()
            .find(|((g, k), _, _)| g == group && k == kind)
    }

    /// The definition name of a built-in kind.
    pub(super) fn name(&self, group: &str, kind: &str) -> Option<&str> {
        self.find(group, kind).map(|(_, name, _)| name.as_str())
    }

    /// The self-contained schema of a built-in kind.
    pub(super) fn inlined(&self, group: &str, kind: &str) -> Option<&Value> {
        self.find(group, kind).map(|(_, _, schema)| schema)
    }
}

/// The built-in definitions (generated on first use, a few milliseconds).
pub(super) fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(generate)
}

fn generate() -> Builtins {
    // OpenAPI 3.0 output: `$ref`s into components, `$ref` siblings moved
    // into `allOf` (3.0 ignores them), no `const`, no boolean schemas.
    let mut generator = SchemaSettings::openapi3()
        .with(|s| {
            s.meta_schema = None;
        })
        .into_generator();
    let mut kinds = Vec::new();
    for strategy in crate::kinds::builtins() {
        let names = strategy.names();
        let Some(name) = strategy.openapi(&mut generator) else {
            continue;
        };
        let gvk = Gvk {
            group: names.group.clone(),
            version: names.version,
            kind: names.kind.clone(),
        };
        kinds.push(((names.group, names.kind), name, gvk));
    }
    generator.subschema_for::<meta::Status>();
    generator.subschema_for::<meta::DeleteOptions>();
    generator.subschema_for::<meta::Patch>();
    generator.subschema_for::<meta::WatchEvent<core::ConfigMap>>();
    generator.subschema_for::<meta::APIResourceList>();
    generator.subschema_for::<meta::ListMeta>();
    let mut defs = generator.take_definitions(true);

    fix_up(&mut defs);
    for (_, name, gvk) in &kinds {
        set_gvks(&mut defs, name, std::slice::from_ref(gvk));
    }
    let core_v1 = |kind: &str| Gvk {
        group: String::new(),
        version: "v1".to_owned(),
        kind: kind.to_owned(),
    };
    set_gvks(&mut defs, STATUS, &[core_v1("Status")]);
    set_gvks(&mut defs, DELETE_OPTIONS, &[core_v1("DeleteOptions")]);
    set_gvks(&mut defs, WATCH_EVENT, &[core_v1("WatchEvent")]);
    set_gvks(&mut defs, API_RESOURCE_LIST, &[core_v1("APIResourceList")]);

    let kinds = kinds
        .into_iter()
        .map(|(kind, name, _)| {
            let mut stack = vec![name.clone()];
            let schema = defs
                .get(&name)
                .map_or(Value::Null, |s| inline(s, &defs, &mut stack));
            (kind, name, schema)
        })
        .collect();
    Builtins { defs, kinds }
}

fn set_gvks(defs: &mut Map<String, Value>, name: &str, gvks: &[Gvk]) {
    if let Some(Value::Object(schema)) = defs.get_mut(name) {
        schema.insert(
            GVK_EXTENSION.to_owned(),
            gvks.iter().map(Gvk::to_value).collect(),
        );
    }
}

/// Extensions Kubernetes publishes on fields of the built-in kinds that
/// k8s-openapi's schemas lack: the patch strategy and merge key (kubectl's
/// client-side apply builds strategic merge patches from them) and list
/// types (server-side apply). `(definition, field, extensions)`.
pub(super) fn field_extensions() -> Vec<(String, &'static str, Value)> {
    let atomic = || json!({ "x-kubernetes-list-type": "atomic" });
    let merge_by = |key: &str| {
        json!({
            "x-kubernetes-list-map-keys": [key],
            "x-kubernetes-list-type": "map",
            "x-kubernetes-patch-merge-key": key,
            "x-kubernetes-patch-strategy": "merge",
        })
    };
    let map_by =
        |key: &str| json!({ "x-kubernetes-list-map-keys": [key], "x-kubernetes-list-type": "map" });
    const CORE: &str = "io.k8s.api.core.v1.";
    const RBAC: &str = "io.k8s.api.rbac.v1.";
    const EXT: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.";
    const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";
    let table: Vec<(&str, &str, &str, Value)> = vec![
        (
            META,
            "ObjectMeta",
            "finalizers",
            json!({ "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge" }),
        ),
        (META, "ObjectMeta", "ownerReferences", merge_by("uid")),
        (META, "ObjectMeta", "managedFields", atomic()),
        (META, "LabelSelector", "matchExpressions", atomic()),
        (META, "LabelSelectorRequirement", "values", atomic()),
        (META, "StatusDetails", "causes", atomic()),
        (META, "DeleteOptions", "dryRun", atomic()),
        (CORE, "ServiceAccount", "secrets", merge_by("name")),
        (CORE, "ServiceAccount", "imagePullSecrets", atomic()),
        (CORE, "NamespaceSpec", "finalizers", atomic()),
        (CORE, "NamespaceStatus", "conditions", merge_by("type")),
        (RBAC, "Role", "rules", atomic()),
        (RBAC, "ClusterRole", "rules", atomic()),
        (RBAC, "AggregationRule", "clusterRoleSelectors", atomic()),
        (RBAC, "RoleBinding", "subjects", atomic()),
        (RBAC, "ClusterRoleBinding", "subjects", atomic()),
        (RBAC, "PolicyRule", "verbs", atomic()),
        (RBAC, "PolicyRule", "apiGroups", atomic()),
        (RBAC, "PolicyRule", "resources", atomic()),
        (RBAC, "PolicyRule", "resourceNames", atomic()),
        (RBAC, "PolicyRule", "nonResourceURLs", atomic()),
        (EXT, "CustomResourceDefinitionSpec", "versions", atomic()),
        (
            EXT,
            "CustomResourceDefinitionStatus",
            "conditions",
            map_by("type"),
        ),
        (
            EXT,
            "CustomResourceDefinitionStatus",
            "storedVersions",
            atomic(),
        ),
        (EXT, "CustomResourceDefinitionNames", "shortNames", atomic()),
        (EXT, "CustomResourceDefinitionNames", "categories", atomic()),
        (
            EXT,
            "CustomResourceDefinitionVersion",
            "additionalPrinterColumns",
            atomic(),
        ),
        (
            EXT,
            "CustomResourceDefinitionVersion",
            "selectableFields",
            atomic(),
        ),
        (
            EXT,
            "WebhookConversion",
            "conversionReviewVersions",
            atomic(),
        ),
        (EXT, "JSONSchemaProps", "required", atomic()),
        (EXT, "JSONSchemaProps", "enum", atomic()),
        (EXT, "JSONSchemaProps", "allOf", atomic()),
        (EXT, "JSONSchemaProps", "anyOf", atomic()),
        (EXT, "JSONSchemaProps", "oneOf", atomic()),
        (
            EXT,
            "JSONSchemaProps",
            "x-kubernetes-list-map-keys",
            atomic(),
        ),
        (
            EXT,
            "JSONSchemaProps",
            "x-kubernetes-validations",
            merge_by("rule"),
        ),
    ];
    table
        .into_iter()
        .map(|(package, type_name, field, ext)| (format!("{package}{type_name}"), field, ext))
        .collect()
}

/// Brings k8s-openapi's schemas to what Kubernetes publishes.
fn fix_up(defs: &mut Map<String, Value>) {
    for schema in defs.values_mut() {
        // k8s-openapi makes `metadata` required (its field is not an
        // Option); Kubernetes never does, and kubectl explain would mark it.
        let Some(obj) = schema.as_object_mut() else {
            continue;
        };
        if let Some(Value::Array(required)) = obj.get_mut("required") {
            required.retain(|r| r != "metadata");
            if required.is_empty() {
                obj.remove("required");
            }
        }
    }
    // Any JSON value (a CRD schema's `default`, `example`, `enum`), not
    // only an object.
    if let Some(Value::Object(json_value)) = defs.get_mut(JSON_VALUE) {
        json_value.remove("type");
    }
    for (definition, field, extensions) in field_extensions() {
        let property = defs
            .get_mut(&definition)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(field))
            .and_then(Value::as_object_mut);
        if let (Some(property), Value::Object(extensions)) = (property, extensions) {
            property.extend(extensions);
        }
    }
}

/// The component a schema stands for, when it is only a reference: `{"$ref":
/// …}`, or Kubernetes' `{"allOf": [{"$ref": …}], …siblings}`.
pub(super) fn reference(schema: &Map<String, Value>) -> Option<&str> {
    if let Some(Value::String(r)) = schema.get("$ref") {
        return r.strip_prefix(V3_REF_PREFIX);
    }
    match schema.get("allOf") {
        Some(Value::Array(all_of)) if all_of.len() == 1 => match &all_of[0] {
            Value::Object(only) if only.len() == 1 => match only.get("$ref") {
                Some(Value::String(r)) => r.strip_prefix(V3_REF_PREFIX),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Copies `schema`, replacing each direct subschema (under `properties`,
/// `patternProperties`, `definitions`, `items`, `additionalProperties`,
/// `additionalItems`, `not`, `allOf`, `anyOf`, `oneOf`) by `f` of it. Other
/// keys are data (`default`, `enum`, `example`, extensions) and are copied
/// as they are: a property may well be named `$ref` or `oneOf`.
pub(super) fn map_subschemas(
    schema: &Map<String, Value>,
    f: &mut dyn FnMut(&Value) -> Value,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in schema {
        let mapped = match (key.as_str(), value) {
            ("properties" | "patternProperties" | "definitions", Value::Object(by_name)) => {
                Value::Object(
                    by_name
                        .iter()
                        .map(|(name, sub)| (name.clone(), f(sub)))
                        .collect(),
                )
            }
            ("items", Value::Array(subs)) | ("allOf" | "anyOf" | "oneOf", Value::Array(subs)) => {
                Value::Array(subs.iter().map(&mut *f).collect())
            }
            ("items" | "additionalProperties" | "additionalItems" | "not", Value::Object(_)) => {
                f(value)
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), mapped);
    }
    out
}

/// Calls `f` on every component name `schema` refers to, at any depth.
pub(super) fn for_each_reference(schema: &Value, f: &mut dyn FnMut(&str)) {
    let Value::Object(obj) = schema else { return };
    if let Some(Value::String(r)) = obj.get("$ref")
        && let Some(name) = r.strip_prefix(V3_REF_PREFIX)
    {
        f(name);
    }
    for (key, value) in obj {
        match (key.as_str(), value) {
            ("properties" | "patternProperties" | "definitions", Value::Object(by_name)) => {
                by_name.values().for_each(|sub| for_each_reference(sub, f));
            }
            ("items", Value::Array(subs)) | ("allOf" | "anyOf" | "oneOf", Value::Array(subs)) => {
                subs.iter().for_each(|sub| for_each_reference(sub, f));
            }
            ("items" | "additionalProperties" | "additionalItems" | "not", Value::Object(_)) => {
                for_each_reference(value, f);
            }
            _ => {}
        }
    }
}

/// Replaces references by the definitions they name. `stack` holds the
/// definitions being inlined: a reference back into one of them (only the
/// CRD's JSONSchemaProps does that) becomes an object keeping unknown
/// fields.
fn inline(schema: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    let Some(name) = reference(obj) else {
        return Value::Object(map_subschemas(obj, &mut |sub| inline(sub, defs, stack)));
    };
    let mut target = if stack.iter().any(|s| s == name) {
        json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
    } else if let Some(def) = defs.get(name) {
        stack.push(name.to_owned());
        let inlined = inline(def, defs, stack);
        stack.pop();
        inlined
    } else {
        json!({})
    };
    if let Value::Object(target) = &mut target {
        // The referring field's own description wins over the type's.
        for (key, value) in obj {
            if key != "$ref" && key != "allOf" {
                target.insert(key.clone(), value.clone());
            }
        }
        target.remove(GVK_EXTENSION);
    }
    target
}

/// A `$ref` to a component with a description, in v3 form.
fn described_reference(name: &str, description: &str) -> Value {
    json!({ "allOf": [{ "$ref": format!("{V3_REF_PREFIX}{name}") }], "description": description })
}

/// A custom resource's kind schema: the CRD's `openAPIV3Schema` (or, without
/// one, an object keeping unknown fields) with `apiVersion`, `kind` and
/// `metadata` as apiextensions-apiserver adds them, the same for every
/// `x-kubernetes-embedded-resource`, and the kind's group-version-kind.
pub(super) fn custom_kind_schema(def: &ResourceDef) -> Value {
    let mut schema = match def.schema.as_deref() {
        Some(Value::Object(schema)) => schema.clone(),
        _ => match json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }) {
            Value::Object(schema) => schema,
            _ => Map::new(),
        },
    };
    set_type_meta(&mut schema, API_VERSION_DESCRIPTION, KIND_DESCRIPTION);
    add_embedded_type_meta(&mut schema);
    schema.insert(
        GVK_EXTENSION.to_owned(),
        Value::Array(vec![Gvk::of(def).to_value()]),
    );
    Value::Object(schema)
}

fn set_type_meta(schema: &mut Map<String, Value>, api_version: &str, kind: &str) {
    let properties = schema
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(properties) = properties {
        properties.insert(
            "apiVersion".to_owned(),
            json!({ "description": api_version, "type": "string" }),
        );
        properties.insert(
            "kind".to_owned(),
            json!({ "description": kind, "type": "string" }),
        );
        properties.insert(
            "metadata".to_owned(),
            described_reference(OBJECT_META, METADATA_DESCRIPTION),
        );
    }
}

fn add_embedded_type_meta(schema: &mut Map<String, Value>) {
    for_each_subschema_mut(schema, &mut add_embedded_type_meta);
    if schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
        set_type_meta(
            schema,
            "apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
            "kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
        );
        if let Value::Array(required) = schema.entry("required").or_insert_with(|| json!([])) {
            for field in ["kind", "apiVersion"] {
                if !required.iter().any(|r| r == field) {
                    required.push(json!(field));
                }
            }
        }
    }
}

/// Calls `f` on each direct subschema of `schema` (the positions
/// [`map_subschemas`] maps), in place.
fn for_each_subschema_mut(
    schema: &mut Map<String, Value>,
    f: &mut dyn FnMut(&mut Map<String, Value>),
) {
    for (key, value) in schema.iter_mut() {
        match (key.as_str(), value) {
            ("properties" | "patternProperties" | "definitions", Value::Object(by_name)) => {
                for sub in by_name.values_mut() {
                    if let Value::Object(sub) = sub {
                        f(sub);
                    }
                }
            }
            ("items", Value::Array(subs)) | ("allOf" | "anyOf" | "oneOf", Value::Array(subs)) => {
                for sub in subs {
                    if let Value::Object(sub) = sub {
                        f(sub);
                    }
                }
            }
            ("items" | "additionalProperties" | "additionalItems" | "not", Value::Object(sub)) => {
                f(sub)
            }
            _ => {}
        }
    }
}

/// A list kind's schema (`ConfigMapList`: `items` of the kind), shaped like
/// apiextensions-apiserver's, for built-in kinds too.
pub(super) fn list_schema(def: &ResourceDef, names: &Names) -> Value {
    let mut schema = json!({
        "description": format!("{} is a list of {}", def.list_kind, def.kind),
        "type": "object",
        "properties": {
            "apiVersion": { "description": API_VERSION_DESCRIPTION, "type": "string" },
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", def.plural),
                "type": "array",
                "items": { "$ref": format!("{V3_REF_PREFIX}{}", names.kind) },
            },
            "kind": { "description": KIND_DESCRIPTION, "type": "string" },
        },
        "required": ["items"],
    });
    schema["properties"]["metadata"] = described_reference(LIST_META, LIST_METADATA_DESCRIPTION);
    schema[GVK_EXTENSION] = Value::Array(vec![Gvk::list_of(def).to_value()]);
    schema
}
