//! core/v1 ConfigMap.

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Map, Value};

use super::{Names, Strategy, Validation, check_immutable_data, encode, openapi_of};
use crate::error::ApiResult;
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::TableColumn;
use ks_types::validation::validate_config_map_data;

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
        cx.extend(validate_config_map_data(&cm));
        if let Some(old) = old {
            check_immutable_data(old, obj, &["data", "binaryData"], cx);
        }
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
