//! apiextensions.k8s.io/v1 CustomResourceDefinition.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

use super::{Names, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::object::{finalizers, set_meta};
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::TableColumn;
use ks_types::validation::{FieldError, FieldErrorType, FieldPath};

/// The finalizer that deletes a CRD's objects before the CRD.
pub const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// apiextensions/v1 CustomResourceDefinition: writing one changes what the
/// server serves; its status (names accepted, established, stored
/// versions) is the server's.
#[derive(Debug)]
pub struct CustomResourceDefinitions;

/// None of its lists (`spec.versions`, `spec.names.shortNames`,
/// `status.conditions`, ...) has a patch strategy: all are replaced.
static STRATEGIC: StrategicSchema = StrategicSchema::new(
    "apiextensions.k8s.io",
    "CustomResourceDefinition",
    Shape::Struct(&[METADATA]),
);

impl Strategy for CustomResourceDefinitions {
    fn names(&self) -> Names {
        Names::new(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        )
        .cluster_scoped()
        .short_names(&["crd", "crds"])
        .with_status()
    }

    fn tracks_generation(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        let mut list = finalizers(obj);
        if !list.iter().any(|f| f == CRD_CLEANUP_FINALIZER) {
            list.push(CRD_CLEANUP_FINALIZER.to_owned());
            set_meta(obj, "finalizers", json!(list));
        }
        status(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        status(new);
    }

    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let crd: CustomResourceDefinition = cx.decode(obj)?;
        for problem in ks_types::crd::crd_errors(&crd) {
            // ks-types reports "field message"; a bare message is about spec.
            let (field, detail) = match problem.split_once(' ') {
                Some((field, message)) if field.contains('.') || field.contains('[') => {
                    (field.to_owned(), message.to_owned())
                }
                _ => ("spec".to_owned(), problem.clone()),
            };
            cx.push(FieldError {
                error_type: FieldErrorType::Invalid,
                field,
                bad_value: None,
                detail,
            });
        }
        if let Some(old) = old {
            for (pointer, field, value) in [
                ("/spec/group", "spec.group", &crd.spec.group),
                ("/spec/scope", "spec.scope", &crd.spec.scope),
            ] {
                if old.pointer(pointer) != obj.pointer(pointer) {
                    cx.push(FieldError::invalid(
                        &FieldPath::new(field),
                        value,
                        "field is immutable",
                    ));
                }
            }
        }
        *obj = encode(&crd)?;
        Ok(())
    }

    fn delete_returns_object(&self) -> bool {
        true
    }

    fn defines_resources(&self) -> bool {
        true
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(vec![TableColumn::name(), TableColumn::created_at()])
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<CustomResourceDefinition>(generator))
    }
}

/// Server-managed status of a CRD: names accepted and established, every
/// storage version recorded.
fn status(obj: &mut Value) {
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
