//! core/v1 Namespace.

use k8s_openapi::api::core::v1::Namespace;
use serde_json::{Map, Value, json};

use super::{
    NameRule, Names, SelectableField, SelectableFields, Strategy, Validation, encode, openapi_of,
};
use crate::error::ApiResult;
use crate::object::meta_str;
use crate::patch::{METADATA, PatchStrategy, Shape, StrategicSchema, field};
use crate::table::TableColumn;

/// The finalizer in `spec.finalizers` that the namespace controller
/// removes once the namespace is empty.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

/// core/v1 Namespace: cluster-scoped, named by a DNS-1123 label, deleted
/// in two steps (content first, while `Terminating`).
#[derive(Debug)]
pub struct Namespaces;

/// `spec.finalizers` has no strategy (replaced); `status.conditions`
/// merges by `type`.
static STRATEGIC: StrategicSchema = StrategicSchema::new(
    "",
    "Namespace",
    Shape::Struct(&[
        METADATA,
        field(
            "spec",
            PatchStrategy::Default,
            Shape::Struct(&[field("finalizers", PatchStrategy::Default, Shape::Free)]),
        ),
        field(
            "status",
            PatchStrategy::Default,
            Shape::Struct(&[field(
                "conditions",
                PatchStrategy::MergeByKey("type"),
                Shape::Free,
            )]),
        ),
    ]),
);

impl Strategy for Namespaces {
    fn names(&self) -> Names {
        Names::new("", "v1", "Namespace", "namespaces")
            .cluster_scoped()
            .short_names(&["ns"])
            .with_status()
    }

    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({"phase": "Active"});
    }

    fn prepare_for_delete(&self, obj: &mut Value) {
        obj["status"]["phase"] = json!("Terminating");
    }

    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let mut ns: Namespace = cx.decode(obj)?;
        let spec = ns.spec.get_or_insert_with(Default::default);
        if spec.finalizers.is_none() && old.is_none() {
            spec.finalizers = Some(vec![NAMESPACE_FINALIZER.to_owned()]);
        }
        let name = meta_str(obj, "name").to_owned();
        let labels = ns.metadata.labels.get_or_insert_with(Default::default);
        labels.insert("kubernetes.io/metadata.name".to_owned(), name);
        *obj = encode(&ns)?;
        Ok(())
    }

    fn pending_finalization(&self, obj: &Value) -> bool {
        obj.pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    }

    fn delete_returns_object(&self) -> bool {
        true
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(vec![
            TableColumn::name(),
            TableColumn::path(
                "Status",
                "string",
                ".status.phase",
                "The status of the namespace",
                0,
            ),
            TableColumn::age(),
        ])
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<Namespace>(generator))
    }

    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::namespace(raw))
    }

    /// Kubernetes' field label conversion for Namespace takes
    /// `metadata.name` and `status.phase`, not `metadata.namespace`.
    fn selectable_fields(&self) -> SelectableFields {
        const FIELDS: &[SelectableField] =
            &[SelectableField::new("status.phase", &["status.phase"])];
        SelectableFields::Kind {
            namespace: false,
            fields: FIELDS,
        }
    }
}
