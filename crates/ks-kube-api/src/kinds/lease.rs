//! coordination.k8s.io/v1 Lease: what leader election and node heartbeats
//! write (ks-controller-manager's leader election uses one).

use k8s_openapi::api::coordination::v1::Lease;
use serde_json::Value;

use super::{Names, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::TableColumn;
use ks_types::validation::{FieldError, FieldPath};

/// coordination.k8s.io/v1 Lease.
#[derive(Debug)]
pub struct Leases;

/// Only metadata carries patch strategies.
static STRATEGIC: StrategicSchema =
    StrategicSchema::new("coordination.k8s.io", "Lease", Shape::Struct(&[METADATA]));

impl Strategy for Leases {
    fn names(&self) -> Names {
        Names::new("coordination.k8s.io", "v1", "Lease", "leases")
    }

    /// Kubernetes' `ValidateLeaseSpec`: a duration must be positive, a
    /// transition count not negative.
    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        let lease: Lease = cx.decode(obj)?;
        if let Some(spec) = &lease.spec {
            if let Some(d) = spec.lease_duration_seconds
                && d <= 0
            {
                cx.push(FieldError::invalid(
                    &FieldPath::new("spec.leaseDurationSeconds"),
                    &d.to_string(),
                    "must be greater than 0",
                ));
            }
            if let Some(t) = spec.lease_transitions
                && t < 0
            {
                cx.push(FieldError::invalid(
                    &FieldPath::new("spec.leaseTransitions"),
                    &t.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
        }
        *obj = encode(&lease)?;
        Ok(())
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(vec![
            TableColumn::name(),
            TableColumn::path(
                "Holder",
                "string",
                ".spec.holderIdentity",
                "Name of the Lease holder",
                0,
            ),
            TableColumn::age(),
        ])
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<Lease>(generator))
    }
}
