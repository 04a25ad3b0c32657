//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`) for every kind,
//! with structural OpenAPI v3 schemas generated from the Rust types.
//!
//! ```
//! let crds = ks_types::crd::crds();
//! let users = crds.iter().find(|c| c.metadata.name.as_deref() == Some("users.iam.kubesphere.io"));
//! assert!(users.is_some());
//!
//! let yaml = ks_types::crd::render_crds_yaml(&["User", "workspaces"])?;
//! assert!(yaml.starts_with("---\napiVersion: apiextensions.k8s.io/v1\n"));
//! # Ok::<(), ks_types::Error>(())
//! ```
//!
//! A schema is *structural* (required by apiextensions/v1) when every node
//! has a `type` (or `x-kubernetes-preserve-unknown-fields`, or
//! `x-kubernetes-int-or-string`), nothing uses `$ref` or `definitions`, and
//! `metadata` at the root is only `type: object`. schemars' output is
//! rewritten to that shape, and [`structural_errors`] checks it.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps, JSONSchemaPropsOrArray,
    JSONSchemaPropsOrBool,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::cluster::Cluster;
use crate::error::Format;
use crate::iam::{
    GlobalRole, GlobalRoleBinding, Group, GroupBinding, LoginRecord, User, WorkspaceRole,
    WorkspaceRoleBinding,
};
use crate::resource::KindInfo;
use crate::tenant::{Workspace, WorkspaceTemplate};

/// A printer column: name, type, JSONPath.
type Column = (&'static str, &'static str, &'static str);

const AGE: Column = ("Age", "date", ".metadata.creationTimestamp");
const WORKSPACE: Column = (
    "Workspace",
    "string",
    ".metadata.labels.kubesphere\\.io/workspace",
);

/// What a CRD needs beyond the kind's identity and schema.
struct Extras {
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    columns: &'static [Column],
    status_subresource: bool,
}

/// The CRDs of every kind in this crate, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        crd::<User>(Extras {
            short_names: &[],
            categories: &["iam", "kubesphere"],
            columns: &[
                ("Email", "string", ".spec.email"),
                ("Status", "string", ".status.state"),
                AGE,
            ],
            status_subresource: true,
        }),
        crd::<GlobalRole>(Extras {
            short_names: &["gr"],
            categories: &["iam", "kubesphere"],
            columns: &[AGE],
            status_subresource: false,
        }),
        crd::<GlobalRoleBinding>(Extras {
            short_names: &["grb"],
            categories: &["iam", "kubesphere"],
            columns: &[("Role", "string", ".roleRef.name"), AGE],
            status_subresource: false,
        }),
        crd::<WorkspaceRole>(Extras {
            short_names: &["wr"],
            categories: &["iam", "kubesphere"],
            columns: &[
                WORKSPACE,
                (
                    "Alias",
                    "string",
                    ".metadata.annotations.kubesphere\\.io/alias-name",
                ),
                AGE,
            ],
            status_subresource: false,
        }),
        crd::<WorkspaceRoleBinding>(Extras {
            short_names: &["wrb"],
            categories: &["iam", "kubesphere"],
            columns: &[WORKSPACE, ("Role", "string", ".roleRef.name"), AGE],
            status_subresource: false,
        }),
        crd::<LoginRecord>(Extras {
            short_names: &["lr"],
            categories: &["iam", "kubesphere"],
            columns: &[
                ("Type", "string", ".spec.type"),
                ("Provider", "string", ".spec.provider"),
                ("From", "string", ".spec.sourceIP"),
                ("Success", "string", ".spec.success"),
                ("Reason", "string", ".spec.reason"),
                AGE,
            ],
            status_subresource: false,
        }),
        crd::<Group>(Extras {
            short_names: &[],
            categories: &["group", "kubesphere"],
            columns: &[WORKSPACE, AGE],
            status_subresource: false,
        }),
        crd::<GroupBinding>(Extras {
            short_names: &["gb"],
            categories: &["group", "kubesphere"],
            columns: &[
                ("Group", "string", ".groupRef.name"),
                ("Users", "string", ".users"),
                AGE,
            ],
            status_subresource: false,
        }),
        crd::<Workspace>(Extras {
            short_names: &["ws"],
            categories: &["tenant", "kubesphere"],
            columns: &[("Manager", "string", ".spec.manager"), AGE],
            status_subresource: false,
        }),
        crd::<WorkspaceTemplate>(Extras {
            short_names: &["wst"],
            categories: &["tenant", "kubesphere"],
            columns: &[("Manager", "string", ".spec.template.spec.manager"), AGE],
            status_subresource: false,
        }),
        crd::<Cluster>(Extras {
            short_names: &[],
            categories: &["kubesphere"],
            columns: &[
                ("Federated", "boolean", ".spec.joinFederation"),
                ("Provider", "string", ".spec.provider"),
                ("Active", "boolean", ".spec.enable"),
                ("Version", "string", ".status.kubernetesVersion"),
                AGE,
            ],
            status_subresource: true,
        }),
    ]
}

/// Selects CRDs by kind (`User`, case-insensitive), plural (`users`),
/// singular, short name or full name (`users.iam.kubesphere.io`), in the
/// order asked, without duplicates. An empty selection means all.
pub fn select_crds(selectors: &[&str]) -> Result<Vec<CustomResourceDefinition>, Error> {
    let all = crds();
    if selectors.is_empty() {
        return Ok(all);
    }
    let mut picked: Vec<CustomResourceDefinition> = Vec::new();
    for sel in selectors {
        let found = all
            .iter()
            .find(|c| matches(c, sel))
            .ok_or_else(|| Error::UnknownCrd((*sel).to_owned()))?;
        if !picked
            .iter()
            .any(|p| p.metadata.name == found.metadata.name)
        {
            picked.push(found.clone());
        }
    }
    Ok(picked)
}

fn matches(crd: &CustomResourceDefinition, selector: &str) -> bool {
    let names = &crd.spec.names;
    crd.metadata.name.as_deref() == Some(selector)
        || names.kind.eq_ignore_ascii_case(selector)
        || names.plural == selector
        || names.singular.as_deref() == Some(selector)
        || names
            .short_names
            .as_deref()
            .is_some_and(|s| s.iter().any(|n| n == selector))
}

/// Renders the selected CRDs (see [`select_crds`]) as multi-document YAML,
/// each document starting with `---`.
pub fn render_crds_yaml(selectors: &[&str]) -> Result<String, Error> {
    let mut out = String::new();
    for crd in select_crds(selectors)? {
        out.push_str(&render_crd_yaml(&crd)?);
    }
    Ok(out)
}

/// Renders one CRD as a YAML document starting with `---`.
pub fn render_crd_yaml(crd: &CustomResourceDefinition) -> Result<String, Error> {
    let body = serde_norway::to_string(crd).map_err(|e| Error::Encode {
        format: Format::Yaml,
        message: e.to_string(),
    })?;
    Ok(format!("---\n{body}"))
}

/// The conventional file name of a CRD manifest:
/// `<group>_<plural>.yaml`, e.g. `iam.kubesphere.io_users.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

fn crd<K: KindInfo + JsonSchema>(extras: Extras) -> CustomResourceDefinition {
    let strings = |s: &[&str]| -> Option<Vec<String>> {
        (!s.is_empty()).then(|| s.iter().map(|x| (*x).to_owned()).collect())
    };
    let columns: Vec<CustomResourceColumnDefinition> = extras
        .columns
        .iter()
        .map(|(name, type_, path)| CustomResourceColumnDefinition {
            name: (*name).to_owned(),
            type_: (*type_).to_owned(),
            json_path: (*path).to_owned(),
            ..Default::default()
        })
        .collect();
    CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some(format!("{}.{}", K::PLURAL, K::GROUP)),
            ..Default::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: K::GROUP.to_owned(),
            names: CustomResourceDefinitionNames {
                kind: K::KIND.to_owned(),
                list_kind: Some(K::LIST_KIND.to_owned()),
                plural: K::PLURAL.to_owned(),
                singular: Some(K::SINGULAR.to_owned()),
                short_names: strings(extras.short_names),
                categories: strings(extras.categories),
            },
            scope: K::SCOPE.as_str().to_owned(),
            versions: vec![CustomResourceDefinitionVersion {
                name: K::VERSION.to_owned(),
                served: true,
                storage: true,
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: Some(schema_for::<K>()),
                }),
                subresources: extras
                    .status_subresource
                    .then(|| CustomResourceSubresources {
                        status: Some(CustomResourceSubresourceStatus(json!({}))),
                        ..Default::default()
                    }),
                additional_printer_columns: (!columns.is_empty()).then_some(columns),
                ..Default::default()
            }],
            ..Default::default()
        },
        status: None,
    }
}

/// The structural OpenAPI v3 schema of kind `K`, as used in its CRD.
pub fn schema_for<K: KindInfo + JsonSchema>() -> JSONSchemaProps {
    let mut generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut value = generator.root_schema_for::<K>().to_value();
    make_structural(&mut value);
    if let Value::Object(root) = &mut value {
        root.insert("type".into(), json!("object"));
        let props = root
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(props) = props {
            props.insert(
                "apiVersion".into(),
                json!({
                    "description": "APIVersion defines the versioned schema of this representation of an object.",
                    "type": "string",
                }),
            );
            props.insert(
                "kind".into(),
                json!({
                    "description": "Kind is a string value representing the REST resource this object represents.",
                    "type": "string",
                }),
            );
            // The API server owns metadata's schema; CRDs may only say it is an object.
            props.insert("metadata".into(), json!({ "type": "object" }));
        }
    }
    // The value was built from JSONSchemaProps-compatible pieces; a failure
    // here is a bug in `make_structural`, surfaced by the CRD tests.
    serde_json::from_value(value).unwrap_or_default()
}

/// Integer formats the API server knows; others (schemars' `uint16`, ...)
/// are dropped.
const KNOWN_FORMATS: &[&str] = &["int32", "int64", "date-time", "byte", "double", "float"];

/// Rewrites schemars output into a structural schema, in place.
fn make_structural(node: &mut Value) {
    let Value::Object(map) = node else {
        // `true`/`false` schemas: anything goes.
        *node = json!({ "x-kubernetes-preserve-unknown-fields": true });
        return;
    };
    for key in [
        "$schema",
        "title",
        "default",
        "examples",
        "example",
        "$defs",
        "definitions",
        "nullable",
    ] {
        map.remove(key);
    }
    // Option<T>: `anyOf: [T, {type: null}]` becomes T itself.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = map.get(key) {
            let non_null: Vec<&Value> = variants.iter().filter(|v| !is_null_schema(v)).collect();
            if let [Value::Object(inner)] = non_null.as_slice() {
                let inner = inner.clone();
                map.remove(key);
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
            }
        }
    }
    // `type: [T, "null"]` becomes `type: T`.
    if let Some(Value::Array(types)) = map.get("type") {
        let non_null: Vec<&Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .collect();
        if let [single] = non_null.as_slice() {
            let single = (*single).clone();
            map.insert("type".into(), single);
        }
    }
    if let Some(Value::String(d)) = map.get_mut("description") {
        *d = clean_description(d);
    }
    if map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !KNOWN_FORMATS.contains(&f))
    {
        map.remove("format");
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for v in props.values_mut() {
            make_structural(v);
        }
    }
    if let Some(items) = map.get_mut("items") {
        make_structural(items);
    }
    if let Some(additional) = map
        .get_mut("additionalProperties")
        .filter(|a| a.is_object())
    {
        make_structural(additional);
    }
    let typed = map.contains_key("type")
        || map.contains_key("x-kubernetes-int-or-string")
        || map.contains_key("x-kubernetes-preserve-unknown-fields");
    if !typed {
        // No type: an arbitrary JSON value (e.g. serde_json::Value).
        map.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
    }
}

/// Turns a rustdoc comment into plain text: intra-doc links lose their
/// brackets, and wrapped lines are joined (paragraphs stay separate).
fn clean_description(doc: &str) -> String {
    let unlinked = doc.replace("[`", "`").replace("`]", "`");
    unlinked
        .split("\n\n")
        .map(|para| {
            para.split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// Every way `schema` fails to be structural (empty means structural),
/// each as `path: problem`.
pub fn structural_errors(schema: &JSONSchemaProps) -> Vec<String> {
    let mut problems = Vec::new();
    if schema.type_.as_deref() != Some("object") {
        problems.push("<root>: must have type object".to_owned());
    }
    if let Some(meta) = schema.properties.as_ref().and_then(|p| p.get("metadata")) {
        let only_type = JSONSchemaProps {
            type_: Some("object".into()),
            ..Default::default()
        };
        if *meta != only_type {
            problems.push("metadata: may only be {type: object} at the root".to_owned());
        }
    }
    check_node(schema, "<root>", &mut problems);
    problems
}

fn check_node(s: &JSONSchemaProps, path: &str, problems: &mut Vec<String>) {
    let typed = s.type_.as_deref().is_some_and(|t| !t.is_empty())
        || s.x_kubernetes_preserve_unknown_fields == Some(true)
        || s.x_kubernetes_int_or_string == Some(true);
    if !typed {
        problems.push(format!(
            "{path}: needs a type, x-kubernetes-preserve-unknown-fields or x-kubernetes-int-or-string"
        ));
    }
    if s.ref_path.is_some() {
        problems.push(format!("{path}: $ref is not allowed"));
    }
    if s.definitions.is_some() {
        problems.push(format!("{path}: definitions are not allowed"));
    }
    if s.properties.is_some() && s.additional_properties.is_some() {
        problems.push(format!(
            "{path}: properties and additionalProperties are exclusive"
        ));
    }
    for (name, list) in [
        ("allOf", &s.all_of),
        ("anyOf", &s.any_of),
        ("oneOf", &s.one_of),
    ] {
        if let Some(list) = list {
            for (i, sub) in list.iter().enumerate() {
                if sub.type_.is_some() || sub.description.is_some() || sub.default.is_some() {
                    problems.push(format!(
                        "{path}.{name}[{i}]: may not set type, description or default"
                    ));
                }
            }
        }
    }
    if let Some(props) = &s.properties {
        for (k, v) in props {
            check_node(v, &format!("{path}.{k}"), problems);
        }
    }
    match &s.items {
        Some(JSONSchemaPropsOrArray::Schema(item)) => {
            check_node(item, &format!("{path}[*]"), problems)
        }
        Some(JSONSchemaPropsOrArray::Schemas(_)) => {
            problems.push(format!("{path}: items must be a single schema"));
        }
        None => {
            if s.type_.as_deref() == Some("array") {
                problems.push(format!("{path}: arrays need items"));
            }
        }
    }
    match &s.additional_properties {
        Some(JSONSchemaPropsOrBool::Schema(v)) => check_node(v, &format!("{path}[*]"), problems),
        Some(JSONSchemaPropsOrBool::Bool(false)) => {
            problems.push(format!(
                "{path}: additionalProperties: false is not allowed"
            ));
        }
        _ => {}
    }
}

/// Checks a whole CRD: names, one storage version, structural schemas, and
/// printer columns with known types. Empty means it is well-formed.
pub fn crd_errors(crd: &CustomResourceDefinition) -> Vec<String> {
    let mut problems = Vec::new();
    let spec = &crd.spec;
    let expected = format!("{}.{}", spec.names.plural, spec.group);
    if crd.metadata.name.as_deref() != Some(expected.as_str()) {
        problems.push(format!("metadata.name must be {expected}"));
    }
    if spec.versions.iter().filter(|v| v.storage).count() != 1 {
        problems.push("exactly one version must be the storage version".to_owned());
    }
    let known_column_types = ["integer", "number", "string", "boolean", "date"];
    for v in &spec.versions {
        match v
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
        {
            None => problems.push(format!("version {} has no schema", v.name)),
            Some(schema) => problems.extend(
                structural_errors(schema)
                    .into_iter()
                    .map(|p| format!("version {}: {p}", v.name)),
            ),
        }
        for c in v.additional_printer_columns.iter().flatten() {
            if !known_column_types.contains(&c.type_.as_str()) {
                problems.push(format!("column {} has unknown type {}", c.name, c.type_));
            }
            if !c.json_path.starts_with('.') {
                problems.push(format!("column {} JSONPath must start with '.'", c.name));
            }
        }
    }
    problems
}

/// Renders every CRD keyed by its [`file_name`], for writing to
/// `config/crds/`.
pub fn crd_files() -> Result<BTreeMap<String, String>, Error> {
    crds()
        .iter()
        .map(|c| Ok((file_name(c), render_crd_yaml(c)?)))
        .collect()
}
