//! core/v1 Secret.

use k8s_openapi::api::core::v1::Secret;
use serde_json::{Map, Value};

use super::{
    Names, SelectableField, SelectableFields, Strategy, Validation, check_immutable_data, encode,
    openapi_of,
};
use crate::error::ApiResult;
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::TableColumn;
use ks_types::validation::{FieldError, FieldPath, validate_secret_data};

/// core/v1 Secret: `stringData` folds into `data`, the type defaults to
/// `Opaque` and never changes, and `immutable: true` freezes the data.
#[derive(Debug)]
pub struct Secrets;

/// `data` and `stringData` are maps.
static STRATEGIC: StrategicSchema = StrategicSchema::new("", "Secret", Shape::Struct(&[METADATA]));

impl Strategy for Secrets {
    fn names(&self) -> Names {
        Names::new("", "v1", "Secret", "secrets")
    }

    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let mut secret: Secret = cx.decode(obj)?;
        if let Some(string_data) = secret.string_data.take() {
            let data = secret.data.get_or_insert_with(Default::default);
            for (k, v) in string_data {
                data.insert(k, k8s_openapi::ByteString(v.into_bytes()));
            }
        }
        if secret.type_.as_deref().unwrap_or("").is_empty() {
            secret.type_ = Some("Opaque".to_owned());
        }
        cx.extend(validate_secret_data(&secret));
        let encoded = encode(&secret)?;
        if let Some(old) = old {
            let old_type = old.get("type").and_then(Value::as_str).unwrap_or("Opaque");
            if secret.type_.as_deref() != Some(old_type) {
                cx.push(FieldError::invalid(
                    &FieldPath::new("type"),
                    secret.type_.as_deref().unwrap_or(""),
                    "field is immutable",
                ));
            }
            check_immutable_data(old, &encoded, &["data"], cx);
        }
        *obj = encoded;
        Ok(())
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(vec![
            TableColumn::name(),
            TableColumn::path("Type", "string", ".type", "The type of the secret", 0),
            TableColumn::count("Data", &["data"], "The number of entries in the secret"),
            TableColumn::age(),
        ])
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<Secret>(generator))
    }

    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::secret(raw))
    }

    /// Kubernetes' field label conversion for Secret: metadata and `type`.
    fn selectable_fields(&self) -> SelectableFields {
        const FIELDS: &[SelectableField] = &[SelectableField::new("type", &["type"])];
        SelectableFields::Kind {
            namespace: true,
            fields: FIELDS,
        }
    }
}
