//! CustomResourceDefinitions as data: the registry serves what the stored
//! CRDs define, re-read after every CRD write.

use std::sync::Arc;

use ks_store::ListOptions;
use serde_json::Value;

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kinds::custom::CustomResource;
use crate::kinds::{Names, Strategy as _};
use crate::resources::{Column, ResourceDef};

/// The resources one CRD object defines (its served versions).
pub fn crd_defs(crd: &Value) -> Vec<ResourceDef> {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let name = s(crd.pointer("/metadata/name"));
    let group = s(crd.pointer("/spec/group"));
    let names = crd.pointer("/spec/names");
    let kind = s(names.and_then(|n| n.get("kind")));
    let plural = s(names.and_then(|n| n.get("plural")));
    if name.is_empty() || group.is_empty() || kind.is_empty() || plural.is_empty() {
        return Vec::new();
    }
    let singular = match s(names.and_then(|n| n.get("singular"))) {
        x if x.is_empty() => kind.to_ascii_lowercase(),
        x => x,
    };
    let list_kind = match s(names.and_then(|n| n.get("listKind"))) {
        x if x.is_empty() => format!("{kind}List"),
        x => x,
    };
    let namespaced = crd.pointer("/spec/scope").and_then(Value::as_str) == Some("Namespaced");
    let short_names = strings(names.and_then(|n| n.get("shortNames")));
    let categories = strings(names.and_then(|n| n.get("categories")));
    let mut defs = Vec::new();
    for version in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if version.get("served") != Some(&Value::Bool(true)) {
            continue;
        }
        let version_name = s(version.get("name"));
        if version_name.is_empty() {
            continue;
        }
        let columns: Vec<Column> = version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| Column {
                name: s(c.get("name")),
                type_: s(c.get("type")),
                format: s(c.get("format")),
                description: s(c.get("description")),
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0) as i32,
                json_path: s(c.get("jsonPath")),
            })
            .collect();
        let status = version.pointer("/subresources/status").is_some();
        let schema = version
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .map(Arc::new);
        let strategy = CustomResource {
            names: Names {
                group: group.clone(),
                version: version_name.clone(),
                kind: kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                namespaced,
                short_names: short_names.clone(),
                categories: categories.clone(),
                status,
            },
            schema: schema.clone(),
            columns: columns.clone(),
        };
        let selectable = strategy.selectable_fields();
        defs.push(ResourceDef {
            group: group.clone(),
            version: version_name,
            plural: plural.clone(),
            singular: singular.clone(),
            kind: kind.clone(),
            list_kind: list_kind.clone(),
            namespaced,
            short_names: short_names.clone(),
            categories: categories.clone(),
            status,
            columns,
            schema,
            strategy: Arc::new(strategy),
            crd: Some(name.clone()),
            storage: version.get("storage") == Some(&Value::Bool(true)),
            stored_as: None,
            selectable,
        });
    }
    defs
}

/// Where CRDs are stored (the key prefix of `customresourcedefinitions`).
const CRD_KEY_PREFIX: &str = "/apiextensions.k8s.io/customresourcedefinitions/";

/// Re-reads every CRD from the store and serves exactly what they define.
pub async fn load_crds(app: &App) -> ApiResult<()> {
    let _guard = app.crd_sync.lock().await;
    let prefix = CRD_KEY_PREFIX;
    let page = app
        .store
        .list(ListOptions::prefix(prefix))
        .await
        .map_err(|e| ApiError::internal(format!("listing CRDs: {e}")))?;
    let mut all = Vec::new();
    for kv in page.items {
        match serde_json::from_slice::<Value>(&kv.value) {
            Ok(crd) => {
                let name = crd
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                all.push((name, crd_defs(&crd)));
            }
            Err(e) => tracing::warn!(key = %kv.key, error = %e, "stored CRD does not decode"),
        }
    }
    app.registry.set_all_crds(all);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_prefix_is_where_crds_are_stored() {
        let def = ResourceDef::of(Arc::new(crate::kinds::crd::CustomResourceDefinitions));
        assert_eq!(def.key_prefix(), CRD_KEY_PREFIX);
    }

    #[test]
    fn defs_follow_served_versions() {
        let crd = serde_json::json!({
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"kind": "CronTab", "plural": "crontabs", "shortNames": ["ct"]},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                     "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}],
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1beta1", "served": false, "storage": false}
                ]}
        });
        let defs = crd_defs(&crd);
        assert_eq!(defs.len(), 1);
        let d = &defs[0];
        assert_eq!(
            (d.singular.as_str(), d.list_kind.as_str()),
            ("crontab", "CronTabList")
        );
        assert!(d.namespaced && d.status && d.storage);
        assert_eq!(d.columns[0].json_path, ".spec.cronSpec");
        assert_eq!(d.crd.as_deref(), Some("crontabs.stable.example.com"));
        assert!(d.selectable.resolve("metadata.namespace").is_ok());
        assert!(crd_defs(&serde_json::json!({"spec": {}})).is_empty());
        // A cluster-scoped custom resource takes no `metadata.namespace`
        // selector, as apiextensions-apiserver's field label conversion.
        let mut cluster = crd.clone();
        cluster["spec"]["scope"] = "Cluster".into();
        let d = &crd_defs(&cluster)[0];
        assert!(d.selectable.resolve("metadata.name").is_ok());
        assert_eq!(
            d.selectable.resolve("metadata.namespace").unwrap_err(),
            "field label not supported: metadata.namespace"
        );
    }
}
