//! core/v1 ConfigMap.

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Map, Value};

use super::{Names, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::TableColumn;
use crate::validation::{MAX_DATA_BYTES, Problems, check_data_key};

/// core/v1 ConfigMap: keys are config keys, at most 1 MiB in all, and
/// `immutable: true` freezes the data.
#[derive(Debug)]
pub struct ConfigMaps;

/// `data` and `binaryData` are maps.
static STRATEGIC: StrategicSchema =
    StrategicSchema::new("", "ConfigMap", Shape::Struct(&[METADATA]));

impl Strategy for ConfigMaps {
    fn names(&self) -> Names {
        Names::new("", "v1", "ConfigMap", "configmaps").short_names(&["cm"])
    }

    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let cm: ConfigMap = cx.decode(obj)?;
        let mut problems = Problems::new();
        let mut size = 0;
        for (key, value) in cm.data.iter().flatten() {
            check_data_key("data", key, &mut problems);
            size += key.len() + value.len();
        }
        for (key, value) in cm.binary_data.iter().flatten() {
            check_data_key("binaryData", key, &mut problems);
            if cm.data.as_ref().is_some_and(|d| d.contains_key(key)) {
                problems.invalid(
                    &format!("data[{key}]"),
                    key,
                    "duplicate of key present in binaryData",
                );
            }
            size += key.len() + value.0.len();
        }
        if size > MAX_DATA_BYTES {
            problems.too_long("", MAX_DATA_BYTES);
        }
        if let Some(old) = old
            && old.get("immutable") == Some(&Value::Bool(true))
            && (old.get("data") != obj.get("data")
                || old.get("binaryData") != obj.get("binaryData"))
        {
            problems.forbidden("data", "field is immutable when `immutable` is set");
        }
        cx.causes.extend(problems.causes);
        *obj = encode(&cm)?;
        Ok(())
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(vec![
            TableColumn::name(),
            TableColumn::count(
                "Data",
                &["data", "binaryData"],
                "The number of entries in the config map",
            ),
            TableColumn::age(),
        ])
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<ConfigMap>(generator))
    }

    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::config_map(raw))
    }
}
