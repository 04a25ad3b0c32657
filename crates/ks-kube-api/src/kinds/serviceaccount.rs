//! core/v1 ServiceAccount.

use k8s_openapi::api::core::v1::ServiceAccount;
use serde_json::{Map, Value};

use super::{Names, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::patch::{METADATA, PatchStrategy, Shape, StrategicSchema, field};
use crate::table::TableColumn;

/// core/v1 ServiceAccount.
#[derive(Debug)]
pub struct ServiceAccounts;

/// `secrets` merges by `name`; `imagePullSecrets` has no strategy
/// (replaced).
static STRATEGIC: StrategicSchema = StrategicSchema::new(
    "",
    "ServiceAccount",
    Shape::Struct(&[
        METADATA,
        field("secrets", PatchStrategy::MergeByKey("name"), Shape::Free),
        field("imagePullSecrets", PatchStrategy::Default, Shape::Free),
    ]),
);

impl Strategy for ServiceAccounts {
    fn names(&self) -> Names {
        Names::new("", "v1", "ServiceAccount", "serviceaccounts").short_names(&["sa"])
    }

    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        let sa: ServiceAccount = cx.decode(obj)?;
        *obj = encode(&sa)?;
        Ok(())
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(vec![
            TableColumn::name(),
            TableColumn::count(
                "Secrets",
                &["secrets"],
                "The number of secrets of the service account",
            ),
            TableColumn::age(),
        ])
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<ServiceAccount>(generator))
    }

    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::service_account(raw))
    }
}
