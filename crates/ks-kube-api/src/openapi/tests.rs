//! Tests of the OpenAPI documents, including the lookups kubectl does on
//! them (re-implemented from kubectl's sources, see the module docs).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::components::{self, Gvk, V3_REF_PREFIX};
use super::paths;
use super::render;
use super::*;
use crate::resources::{Registry, ResourceDef};

fn custom_def(
    group: &str,
    version: &str,
    kind: &str,
    namespaced: bool,
    schema: Option<Value>,
) -> ResourceDef {
    let plural = format!("{}s", kind.to_ascii_lowercase());
    ResourceDef {
        group: group.to_owned(),
        version: version.to_owned(),
        plural: plural.clone(),
        singular: kind.to_ascii_lowercase(),
        kind: kind.to_owned(),
        list_kind: format!("{kind}List"),
        namespaced,
        short_names: Vec::new(),
        categories: Vec::new(),
        status: true,
        columns: Vec::new(),
        schema: schema.map(Arc::new),
        strategy: std::sync::Arc::new(crate::kinds::custom::CustomResource {
            names: crate::kinds::Names::new(group, version, kind, &plural).with_status(),
            schema: None,
            columns: Vec::new(),
        }),
        crd: Some(format!("{plural}.{group}")),
        storage: true,
        stored_as: None,
        selectable: crate::selectable::SelectableFields::Kind {
            namespace: namespaced,
            fields: &[],
        },
    }
}

fn user_schema() -> Value {
    json!({
        "description": "A KubeSphere user account.",
        "type": "object",
        "properties": {
            "apiVersion": { "type": "string" },
            "kind": { "type": "string" },
            "metadata": { "type": "object" },
            "spec": {
                "description": "Desired state of the user.",
                "type": "object",
                "properties": {
                    "email": { "description": "Email address.", "type": "string" },
                    "groups": { "type": "array", "items": { "type": "string" } },
                    "lang": { "type": "string", "nullable": true },
                },
                "required": ["email"],
            },
            "status": {
                "type": "object",
                "properties": {
                    "state": { "type": "string", "enum": ["Active", "Disabled", "AuthLimitExceeded"] },
                    "lastLoginTime": { "type": "string", "format": "date-time" },
                },
            },
        },
    })
}

fn template_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "x-kubernetes-preserve-unknown-fields": true,
                    },
                    // A property named like a keyword is data, not a subschema.
                    "oneOf": { "type": "string" },
                    "choice": { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
                },
            },
        },
    })
}

/// Built-ins plus three custom resources: a cluster-scoped one with a
/// schema (KubeSphere's User), a namespaced one without, and one with an
/// embedded resource.
fn registry() -> Registry {
    let registry = Registry::with_builtins();
    registry.set_all_crds(crds(user_schema()));
    registry
}

fn crds(user_schema: Value) -> Vec<(String, Vec<ResourceDef>)> {
    vec![
        (
            "pipelines.devops.kubesphere.io".to_owned(),
            vec![custom_def(
                "devops.kubesphere.io",
                "v1alpha3",
                "Pipeline",
                true,
                None,
            )],
        ),
        (
            "users.iam.kubesphere.io".to_owned(),
            vec![custom_def(
                "iam.kubesphere.io",
                "v1alpha2",
                "User",
                false,
                Some(user_schema),
            )],
        ),
        (
            "workspacetemplates.tenant.kubesphere.io".to_owned(),
            vec![custom_def(
                "tenant.kubesphere.io",
                "v1alpha2",
                "WorkspaceTemplate",
                false,
                Some(template_schema()),
            )],
        ),
    ]
}

fn group_versions(view: &RegistryView) -> Vec<(String, String)> {
    view.groups()
        .into_iter()
        .flat_map(|(g, vs)| vs.into_iter().map(move |v| (g.clone(), v)))
        .collect()
}

fn doc(view: &RegistryView, group: &str, version: &str) -> Value {
    match v3_group_version(view, group, version) {
        Some(doc) => doc,
        None => panic!("no document for {group}/{version}"),
    }
}

/// Every `$ref` string anywhere in a document.
fn all_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(obj) => {
            for (key, value) in obj {
                match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => all_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_refs(v, out)),
        _ => {}
    }
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if let Some(op) = item.get(method) {
                out.push((path.clone(), method.to_owned(), op));
            }
        }
    }
    out
}

fn gvk_value(def: &ResourceDef) -> Value {
    Gvk::of(def).to_value()
}

/// The keywords used by a schema and its subschemas (property names are
/// not keywords).
fn schema_keywords(schema: &Value, out: &mut BTreeSet<String>) {
    let Value::Object(obj) = schema else { return };
    for (key, value) in obj {
        out.insert(key.clone());
        match (key.as_str(), value) {
            ("properties" | "patternProperties" | "definitions", Value::Object(by_name)) => {
                by_name.values().for_each(|sub| schema_keywords(sub, out));
            }
            ("items" | "allOf" | "anyOf" | "oneOf", Value::Array(subs)) => {
                subs.iter().for_each(|sub| schema_keywords(sub, out));
            }
            ("items" | "additionalProperties" | "not", Value::Object(_)) => {
                schema_keywords(value, out)
            }
            _ => {}
        }
    }
}

/// kubectl's `supportsQueryParamV3`: the first PATCH operation of the kind
/// decides (Go map order is random, so every one must carry it).
fn kubectl_supports_field_validation(doc: &Value, gvk: &Value) -> bool {
    let patches: Vec<&Value> = operations(doc)
        .into_iter()
        .filter(|(_, m, op)| m == "patch" && op.get("x-kubernetes-group-version-kind") == Some(gvk))
        .map(|(_, _, op)| op)
        .collect();
    !patches.is_empty()
        && patches.iter().all(|op| {
            op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == "fieldValidation" && p.get("$ref").is_none())
            })
        })
}

/// kubectl explain's template: the GVK from the resource's paths, then the
/// component whose GVK list contains it.
fn kubectl_explain_schema<'a>(doc: &'a Value, def: &ResourceDef) -> Option<&'a Value> {
    let prefix = paths::prefix(&def.group, &def.version);
    let searches = [
        format!("{prefix}/{}", def.plural),
        format!("{prefix}/{}/{{name}}", def.plural),
        format!("{prefix}/namespaces/{{namespace}}/{}", def.plural),
        format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", def.plural),
    ];
    let gvk = searches.iter().find_map(|path| {
        let item = doc["paths"].get(path)?;
        ["get", "post", "put", "patch", "delete"]
            .iter()
            .find_map(|m| item.get(*m)?.get("x-kubernetes-group-version-kind"))
    })?;
    doc["components"]["schemas"]
        .as_object()?
        .values()
        .find(|schema| {
            schema["x-kubernetes-group-version-kind"]
                .as_array()
                .is_some_and(|list| list.contains(gvk))
        })
}

/// Resolves `{"$ref"}` / `{"allOf": [{"$ref"}]}` in a document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.as_object().and_then(components::reference) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

#[test]
fn index_lists_every_group_version_with_a_hash_of_its_document() {
    let registry = registry();
    let view = registry.view();
    let index = v3_index(&view);
    let keys: BTreeSet<&str> = index["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    let expected: BTreeSet<String> = group_versions(&view)
        .iter()
        .map(|(g, v)| render::v3_key(g, v))
        .collect();
    assert_eq!(keys, expected.iter().map(String::as_str).collect());
    for key in [
        "api/v1",
        "apis/rbac.authorization.k8s.io/v1",
        "apis/apiextensions.k8s.io/v1",
        "apis/events.k8s.io/v1",
        "apis/iam.kubesphere.io/v1alpha2",
        "apis/devops.kubesphere.io/v1alpha3",
    ] {
        assert!(keys.contains(key), "{key} missing from {keys:?}");
    }
    for (group, version) in group_versions(&view) {
        let key = render::v3_key(&group, &version);
        let url = index["paths"][&key]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default();
        let hash = render::document_hash(&doc(&view, &group, &version));
        assert_eq!(url, format!("/openapi/v3/{key}?hash={hash}"));
        assert_eq!(hash.len(), 16);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

#[test]
fn hashes_are_stable_and_follow_the_document() {
    let registry = registry();
    let before = v3_index(&registry.view());
    assert_eq!(before, v3_index(&registry.view()));
    assert_eq!(before, v3_index(&self::registry().view()));
    registry.set_all_crds(crds(json!({ "type": "object", "description": "changed" })));
    let after = v3_index(&registry.view());
    let url = |index: &Value, key: &str| index["paths"][key]["serverRelativeURL"].clone();
    assert_ne!(
        url(&before, "apis/iam.kubesphere.io/v1alpha2"),
        url(&after, "apis/iam.kubesphere.io/v1alpha2")
    );
    assert_eq!(url(&before, "api/v1"), url(&after, "api/v1"));
}

#[test]
fn unknown_group_versions_have_no_document() {
    let view = registry().view();
    assert_eq!(v3_group_version(&view, "iam.kubesphere.io", "v9"), None);
    assert_eq!(v3_group_version(&view, "nope.example.com", "v1"), None);
    assert_eq!(v3_group_version(&view, "", "v2"), None);
}

#[test]
fn every_document_is_json_and_every_ref_resolves_inside_it() {
    let view = registry().view();
    for (group, version) in group_versions(&view) {
        let doc = doc(&view, &group, &version);
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        let reparsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(reparsed, doc);
        assert_eq!(doc["openapi"], "3.0.0");
        let mut refs = Vec::new();
        all_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r
                .strip_prefix(V3_REF_PREFIX)
                .unwrap_or_else(|| panic!("{group}/{version}: ref {r}"));
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{group}/{version}: {r} does not resolve"
            );
        }
    }
}

#[test]
fn v2_is_swagger_with_every_ref_resolving() {
    let view = registry().view();
    let doc = v2(&view);
    assert_eq!(doc["swagger"], "2.0");
    assert!(doc.get("components").is_none());
    let mut refs = Vec::new();
    all_refs(&doc, &mut refs);
    for r in refs {
        let name = r
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("ref {r}"));
        assert!(
            doc["definitions"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    let paths = doc["paths"].as_object().map_or(0, |p| p.len());
    let v3_paths: usize = group_versions(&view)
        .iter()
        .map(|(g, v)| doc_paths(&self::doc(&view, g, v)))
        .sum();
    assert_eq!(paths, v3_paths);
    // v3-only constructs are gone from the definitions.
    let mut keywords = BTreeSet::new();
    doc["definitions"]
        .as_object()
        .into_iter()
        .flatten()
        .for_each(|(_, d)| schema_keywords(d, &mut keywords));
    for keyword in ["nullable", "oneOf", "anyOf", "allOf", "not"] {
        assert!(!keywords.contains(keyword), "{keyword}");
    }
    let user = &doc["definitions"]["io.kubesphere.iam.v1alpha2.User"];
    assert_eq!(
        user["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    // A nullable field is untyped in v2.
    assert_eq!(user["properties"]["spec"]["properties"]["lang"], json!({}));
    // A custom resource keeping unknown fields is a bare object in v2.
    let pipeline = &doc["definitions"]["io.kubesphere.devops.v1alpha3.Pipeline"];
    assert_eq!(pipeline["type"], "object");
    assert!(pipeline.get("properties").is_none());
    assert!(pipeline["x-kubernetes-group-version-kind"].is_array());
    // A patch body is a body parameter.
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    assert!(
        patch["consumes"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("application/strategic-merge-patch+json")))
    );
    assert!(
        patch["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "body"))
    );
    // The keyword-named property survives; the value validation does not.
    let template = &doc["definitions"]["io.kubesphere.tenant.v1alpha2.WorkspaceTemplate"]["properties"]
        ["spec"];
    assert_eq!(template["properties"]["oneOf"], json!({ "type": "string" }));
    assert_eq!(template["properties"]["choice"], json!({}));
}

/// events.k8s.io/v1 Events are documented in their own shape, in v3 and
/// v2, beside core/v1 Events.
#[test]
fn events_are_documented_under_both_apis() {
    let view = registry().view();
    let events = "/apis/events.k8s.io/v1/namespaces/{namespace}/events/{name}";
    let v3 = doc(&view, "events.k8s.io", "v1");
    let schema = &v3["components"]["schemas"]["io.k8s.api.events.v1.Event"];
    for field in [
        "note",
        "regarding",
        "reportingController",
        "deprecatedCount",
    ] {
        assert!(schema["properties"][field].is_object(), "{field}");
    }
    assert!(v3["paths"][events]["get"].is_object());
    assert!(v3["paths"]["/apis/events.k8s.io/v1/events"]["get"].is_object());
    let core = doc(&view, "", "v1");
    assert!(
        core["components"]["schemas"]["io.k8s.api.core.v1.Event"]["properties"]["message"]
            .is_object()
    );
    let v2 = v2(&view);
    assert!(v2["paths"][events]["patch"].is_object());
    assert!(v2["definitions"]["io.k8s.api.events.v1.EventList"].is_object());
    assert!(v2["definitions"]["io.k8s.api.core.v1.EventList"].is_object());
}

fn doc_paths(doc: &Value) -> usize {
    doc["paths"].as_object().map_or(0, |p| p.len())
}

#[test]
fn every_kind_and_list_kind_carries_its_group_version_kind() {
    let view = registry().view();
    for def in view.all() {
        let doc = doc(&view, &def.group, &def.version);
        let names = components::names(def);
        let gvk = gvk_value(def);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas[&names.kind]["x-kubernetes-group-version-kind"],
            json!([gvk]),
            "{}",
            names.kind
        );
        let mut list_gvk = gvk.clone();
        list_gvk["kind"] = json!(def.list_kind);
        assert_eq!(
            schemas[&names.list]["x-kubernetes-group-version-kind"],
            json!([list_gvk])
        );
        assert_eq!(
            schemas[&names.list]["properties"]["items"]["items"]["$ref"],
            format!("{V3_REF_PREFIX}{}", names.kind)
        );
        // Every operation of the resource's paths names the kind.
        let prefix = paths::prefix(&def.group, &def.version);
        let ops: Vec<_> = operations(&doc)
            .into_iter()
            .filter(|(path, _, _)| {
                let collection = path
                    .trim_end_matches("/{name}/status")
                    .trim_end_matches("/{name}");
                path.starts_with(&prefix) && collection.ends_with(&format!("/{}", def.plural))
            })
            .collect();
        assert!(ops.len() >= 7, "{}: {} operations", def.plural, ops.len());
        for (path, method, op) in ops {
            assert_eq!(
                op["x-kubernetes-group-version-kind"], gvk,
                "{method} {path}"
            );
            assert!(op["x-kubernetes-action"].is_string());
        }
    }
}

#[test]
fn kubectl_explain_finds_every_kind() {
    let view = registry().view();
    for def in view.all() {
        let doc = doc(&view, &def.group, &def.version);
        let schema =
            kubectl_explain_schema(&doc, def).unwrap_or_else(|| panic!("explain {}", def.plural));
        assert_eq!(
            schema,
            &doc["components"]["schemas"][&components::names(def).kind]
        );
        // `kubectl explain X.metadata` shows <ObjectMeta>.
        let metadata = resolve(&doc, &schema["properties"]["metadata"]);
        assert!(
            metadata["properties"]["labels"].is_object(),
            "{}",
            def.plural
        );
    }
    let doc = doc(&view, "iam.kubesphere.io", "v1alpha2");
    let user = &doc["components"]["schemas"]["io.kubesphere.iam.v1alpha2.User"];
    assert_eq!(
        user["properties"]["spec"]["properties"]["email"]["type"],
        "string"
    );
    assert_eq!(user["properties"]["spec"]["required"], json!(["email"]));
    assert_eq!(user["properties"]["kind"]["type"], "string");
}

#[test]
fn kubectl_sees_field_validation_for_every_kind() {
    let view = registry().view();
    for def in view.all() {
        let doc = doc(&view, &def.group, &def.version);
        assert!(
            kubectl_supports_field_validation(&doc, &gvk_value(def)),
            "{}",
            def.plural
        );
    }
}

#[test]
fn every_write_operation_takes_field_validation_inline() {
    let view = registry().view();
    for (group, version) in group_versions(&view) {
        let doc = doc(&view, &group, &version);
        for (path, method, op) in operations(&doc) {
            if matches!(method.as_str(), "post" | "put" | "patch") {
                let names: Vec<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                assert!(names.contains(&"fieldValidation"), "{method} {path}");
                assert!(
                    names.contains(&"dryRun") && names.contains(&"fieldManager"),
                    "{method} {path}"
                );
                assert!(op["requestBody"]["required"] == true, "{method} {path}");
            }
        }
    }
}

#[test]
fn paths_follow_kube_apiserver() {
    let view = registry().view();
    let core = doc(&view, "", "v1");
    let paths = core["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect::<BTreeSet<_>>())
        .unwrap_or_default();
    for path in [
        "/api/v1/",
        "/api/v1/configmaps",
        "/api/v1/namespaces/{namespace}/configmaps",
        "/api/v1/namespaces/{namespace}/configmaps/{name}",
        "/api/v1/watch/configmaps",
        "/api/v1/watch/namespaces/{namespace}/configmaps",
        "/api/v1/watch/namespaces/{namespace}/configmaps/{name}",
        "/api/v1/namespaces",
        "/api/v1/namespaces/{name}",
        "/api/v1/namespaces/{name}/status",
        "/api/v1/watch/namespaces",
        "/api/v1/watch/namespaces/{name}",
    ] {
        assert!(paths.contains(path), "{path} missing");
    }
    assert!(!paths.contains("/api/v1/namespaces/{namespace}/configmaps/{name}/status"));
    let collection = &core["paths"]["/api/v1/namespaces/{namespace}/configmaps"];
    assert_eq!(collection["get"]["x-kubernetes-action"], "list");
    assert_eq!(collection["post"]["x-kubernetes-action"], "post");
    assert_eq!(
        collection["delete"]["x-kubernetes-action"],
        "deletecollection"
    );
    assert_eq!(
        collection["get"]["operationId"],
        "listCoreV1NamespacedConfigMap"
    );
    let list_params: Vec<&str> = collection["get"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "resourceVersionMatch",
        "watch",
        "allowWatchBookmarks",
        "timeoutSeconds",
    ] {
        assert!(list_params.contains(&name), "list lacks {name}");
    }
    assert_eq!(
        collection["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.ConfigMapList"
    );
    let object = &core["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"];
    let actions: Vec<&str> = ["get", "put", "patch", "delete"]
        .iter()
        .filter_map(|m| object[*m]["x-kubernetes-action"].as_str())
        .collect();
    assert_eq!(actions, ["get", "put", "patch", "delete"]);
    let delete_params: Vec<&str> = object["delete"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        delete_params.contains(&"propagationPolicy")
            && delete_params.contains(&"gracePeriodSeconds")
    );
    let path_params: Vec<&str> = object["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(path_params, ["name", "namespace", "pretty"]);
    assert_eq!(
        object["put"]["requestBody"]["content"]["*/*"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.ConfigMap"
    );
    assert_eq!(
        core["paths"]["/api/v1/watch/namespaces/{namespace}/configmaps/{name}"]["get"]["x-kubernetes-action"],
        "watch"
    );

    // Cluster-scoped custom resource with status, no watch paths.
    let iam = doc(&view, "iam.kubesphere.io", "v1alpha2");
    let paths = iam["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect::<BTreeSet<_>>())
        .unwrap_or_default();
    let expected: BTreeSet<String> = [
        "/apis/iam.kubesphere.io/v1alpha2/",
        "/apis/iam.kubesphere.io/v1alpha2/users",
        "/apis/iam.kubesphere.io/v1alpha2/users/{name}",
        "/apis/iam.kubesphere.io/v1alpha2/users/{name}/status",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(paths, expected);
    let status = &iam["paths"]["/apis/iam.kubesphere.io/v1alpha2/users/{name}/status"];
    assert_eq!(
        status["patch"]["operationId"],
        "patchIamKubesphereIoV1alpha2UserStatus"
    );
    assert_eq!(status["patch"]["tags"], json!(["iamKubesphereIo_v1alpha2"]));
    assert!(status.get("delete").is_none() && status.get("post").is_none());
}

#[test]
fn patch_content_types_offer_strategic_merge_only_for_builtins() {
    let view = registry().view();
    for def in view.all() {
        let doc = doc(&view, &def.group, &def.version);
        for (path, method, op) in operations(&doc) {
            if method != "patch" || op["x-kubernetes-group-version-kind"] != gvk_value(def) {
                continue;
            }
            let content = &op["requestBody"]["content"];
            for media in [
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ] {
                assert_eq!(
                    content[media]["schema"]["$ref"],
                    "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
                    "{path} {media}"
                );
            }
            let smp = content
                .get("application/strategic-merge-patch+json")
                .is_some();
            assert_eq!(smp, def.crd.is_none(), "{path}");
        }
    }
}

#[test]
fn operation_ids_are_unique_per_document() {
    let view = registry().view();
    for (group, version) in group_versions(&view) {
        let doc = doc(&view, &group, &version);
        let mut seen = BTreeSet::new();
        for (path, method, op) in operations(&doc) {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(seen.insert(id.clone()), "{id} twice ({method} {path})");
        }
    }
}

#[test]
fn builtin_schemas_read_like_kubernetes() {
    let builtins = components::builtins();
    let cm = &builtins.defs["io.k8s.api.core.v1.ConfigMap"];
    assert_eq!(cm["properties"]["data"]["type"], "object");
    assert_eq!(
        cm["properties"]["data"]["additionalProperties"],
        json!({ "type": "string" })
    );
    assert!(
        cm.get("required").is_none(),
        "metadata is not required in Kubernetes"
    );
    assert_eq!(
        cm["properties"]["metadata"]["allOf"],
        json!([{ "$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" }])
    );
    let meta = &builtins.defs[components::OBJECT_META];
    assert_eq!(
        meta["properties"]["labels"]["additionalProperties"],
        json!({ "type": "string" })
    );
    assert_eq!(
        meta["properties"]["ownerReferences"]["x-kubernetes-patch-merge-key"],
        "uid"
    );
    assert_eq!(
        meta["properties"]["finalizers"]["x-kubernetes-patch-strategy"],
        "merge"
    );
    let binding = &builtins.defs["io.k8s.api.rbac.v1.RoleBinding"];
    assert_eq!(binding["required"], json!(["roleRef"]));
    // Every fixed-up field exists (a typo would silently do nothing).
    for (definition, field, _) in components::field_extensions() {
        assert!(
            builtins.defs[&definition]["properties"]
                .get(field)
                .is_some(),
            "{definition}.{field}"
        );
    }
    for name in components::SHARED {
        assert!(builtins.defs.get(name).is_some(), "{name}");
    }
    // Nothing OpenAPI 3.0 lacks.
    let mut keywords = BTreeSet::new();
    builtins
        .defs
        .values()
        .for_each(|d| schema_keywords(d, &mut keywords));
    for keyword in [
        "const",
        "examples",
        "$defs",
        "prefixItems",
        "$schema",
        "$id",
    ] {
        assert!(!keywords.contains(keyword), "{keyword}");
    }
}

#[test]
fn builtin_schema_is_self_contained() {
    for strategy in crate::kinds::builtins() {
        let kind = strategy.names().kind;
        let schema = builtin_schema(&strategy.names().group, &kind).unwrap();
        assert_eq!(schema["type"], "object", "{kind:?}");
        let mut refs = Vec::new();
        all_refs(&schema, &mut refs);
        assert_eq!(refs, Vec::<String>::new(), "{kind:?}");
        assert!(
            schema["properties"]["metadata"]["properties"]["labels"].is_object(),
            "{kind:?}"
        );
        assert!(schema["properties"]["metadata"]["description"].is_string());
    }
    let cm = builtin_schema("", "ConfigMap").unwrap();
    assert_eq!(
        cm["properties"]["data"]["additionalProperties"]["type"],
        "string"
    );
    let created = &cm["properties"]["metadata"]["properties"]["creationTimestamp"];
    assert_eq!(
        (&created["type"], &created["format"]),
        (&json!("string"), &json!("date-time"))
    );
    // JSONSchemaProps contains itself: cut one level down.
    let crd = builtin_schema("apiextensions.k8s.io", "CustomResourceDefinition").unwrap();
    let props = &crd["properties"]["spec"]["properties"]["versions"]["items"]["properties"]["schema"]
        ["properties"]["openAPIV3Schema"];
    assert!(props["properties"]["type"].is_object());
    assert_eq!(
        props["properties"]["properties"]["additionalProperties"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
}

#[test]
fn custom_resources_get_kubernetes_names_and_type_meta() {
    let view = registry().view();
    let names = |group: &str, version: &str, plural: &str| {
        view.get(group, version, plural)
            .map(|d| components::names(d))
    };
    let user = names("iam.kubesphere.io", "v1alpha2", "users");
    assert_eq!(
        user.as_ref().map(|n| n.kind.as_str()),
        Some("io.kubesphere.iam.v1alpha2.User")
    );
    assert_eq!(
        user.as_ref().map(|n| n.list.as_str()),
        Some("io.kubesphere.iam.v1alpha2.UserList")
    );
    let cm = names("", "v1", "configmaps");
    assert_eq!(
        cm.as_ref().map(|n| (n.kind.as_str(), n.list.as_str())),
        Some((
            "io.k8s.api.core.v1.ConfigMap",
            "io.k8s.api.core.v1.ConfigMapList"
        ))
    );
    let crb = names("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
    assert_eq!(
        crb.map(|n| n.kind),
        Some("io.k8s.api.rbac.v1.ClusterRoleBinding".to_owned())
    );

    // Without a schema: an object keeping unknown fields, with type meta.
    let doc = doc(&view, "devops.kubesphere.io", "v1alpha3");
    let pipeline = &doc["components"]["schemas"]["io.kubesphere.devops.v1alpha3.Pipeline"];
    assert_eq!(pipeline["type"], "object");
    assert_eq!(pipeline["x-kubernetes-preserve-unknown-fields"], true);
    assert_eq!(
        pipeline["properties"]["metadata"]["allOf"][0]["$ref"],
        format!("{V3_REF_PREFIX}{}", components::OBJECT_META)
    );
    assert!(
        doc["paths"]
            .get("/apis/devops.kubesphere.io/v1alpha3/pipelines")
            .is_some()
    );
    assert!(
        doc["paths"]
            .get("/apis/devops.kubesphere.io/v1alpha3/namespaces/{namespace}/pipelines/{name}")
            .is_some()
    );

    // An embedded resource gets type meta too; keyword-named properties stay.
    let doc = self::doc(&view, "tenant.kubesphere.io", "v1alpha2");
    let spec = &doc["components"]["schemas"]["io.kubesphere.tenant.v1alpha2.WorkspaceTemplate"]["properties"]
        ["spec"];
    let template = &spec["properties"]["template"];
    assert_eq!(template["properties"]["kind"]["type"], "string");
    assert_eq!(template["required"], json!(["kind", "apiVersion"]));
    assert_eq!(spec["properties"]["oneOf"], json!({ "type": "string" }));
}

#[test]
fn operation_ids_and_tags_follow_kube_apiserver() {
    assert_eq!(
        paths::id_and_tag("", "v1"),
        ("CoreV1".to_owned(), "core_v1".to_owned())
    );
    assert_eq!(
        paths::id_and_tag("rbac.authorization.k8s.io", "v1"),
        (
            "RbacAuthorizationV1".to_owned(),
            "rbacAuthorization_v1".to_owned()
        )
    );
    assert_eq!(
        paths::id_and_tag("apiextensions.k8s.io", "v1"),
        ("ApiextensionsV1".to_owned(), "apiextensions_v1".to_owned())
    );
    assert_eq!(
        paths::id_and_tag("iam.kubesphere.io", "v1alpha2"),
        (
            "IamKubesphereIoV1alpha2".to_owned(),
            "iamKubesphereIo_v1alpha2".to_owned()
        )
    );
}

/// The fields of one protobuf message: `(field number, wire type, payload)`
/// (the payload of a length-delimited field, else empty).
fn protobuf_fields(mut bytes: &[u8]) -> Vec<(u64, u8, &[u8])> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let Some((&byte, rest)) = bytes.split_first() else {
                return value;
            };
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let wire = (key & 7) as u8;
        let payload: &[u8] = match wire {
            0 => {
                varint(&mut bytes);
                &[]
            }
            1 => {
                let (_, rest) = bytes.split_at(8.min(bytes.len()));
                bytes = rest;
                &[]
            }
            2 => {
                let len = varint(&mut bytes) as usize;
                let (payload, rest) = bytes.split_at(len.min(bytes.len()));
                bytes = rest;
                payload
            }
            _ => panic!("unexpected wire type {wire}"),
        };
        out.push((key >> 3, wire, payload));
    }
    out
}

#[test]
fn v2_protobuf_is_a_gnostic_document() {
    let view = registry().view();
    let bytes = v2_protobuf(&view);
    let document = protobuf_fields(&bytes);
    fn field<'a>(fields: &[(u64, u8, &'a [u8])], number: u64) -> Vec<&'a [u8]> {
        fields
            .iter()
            .filter(|(n, _, _)| *n == number)
            .map(|(_, _, p)| *p)
            .collect()
    }
    assert_eq!(field(&document, 1), [b"2.0".as_slice()], "swagger");
    let info = protobuf_fields(field(&document, 2)[0]);
    assert_eq!(field(&info, 1), [b"Kubernetes".as_slice()]);
    // Paths: one NamedPathItem per path of the JSON document.
    let paths = protobuf_fields(field(&document, 8)[0]);
    let json = v2(&view);
    assert_eq!(
        field(&paths, 2).len(),
        json["paths"].as_object().map_or(0, |p| p.len())
    );
    // Definitions: NamedSchema { name, Schema }, all of them, sorted.
    let definitions = protobuf_fields(field(&document, 9)[0]);
    let names: Vec<String> = field(&definitions, 1)
        .iter()
        .map(|named| String::from_utf8_lossy(field(&protobuf_fields(named), 1)[0]).into_owned())
        .collect();
    let expected: Vec<String> = json["definitions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(names, expected);
    // ConfigMap: type object, `data` property, the GVK extension as YAML.
    let config_map = field(&definitions, 1)
        .into_iter()
        .map(protobuf_fields)
        .find(|named| field(named, 1) == [b"io.k8s.api.core.v1.ConfigMap".as_slice()])
        .map(|named| protobuf_fields(field(&named, 2)[0]))
        .unwrap_or_default();
    let type_item = protobuf_fields(field(&config_map, 22)[0]);
    assert_eq!(field(&type_item, 1), [b"object".as_slice()]);
    let properties = protobuf_fields(field(&config_map, 25)[0]);
    let property_names: Vec<&[u8]> = field(&properties, 1)
        .iter()
        .map(|named| field(&protobuf_fields(named), 1)[0])
        .collect();
    assert!(property_names.contains(&b"data".as_slice()));
    let extension = protobuf_fields(field(&config_map, 31)[0]);
    assert_eq!(
        field(&extension, 1),
        [b"x-kubernetes-group-version-kind".as_slice()]
    );
    let any = protobuf_fields(field(&extension, 2)[0]);
    let yaml: Value = serde_json::from_slice(field(&any, 2)[0]).unwrap_or_default();
    assert_eq!(
        yaml,
        json!([{ "group": "", "kind": "ConfigMap", "version": "v1" }])
    );
}
