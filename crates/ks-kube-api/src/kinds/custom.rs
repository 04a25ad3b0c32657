//! The one strategy of every custom resource, driven by its CRD: the
//! structural schema (pruning, defaults, validation), the printer columns
//! and the status subresource.

use std::sync::Arc;

use serde_json::Value;

use super::{Names, SelectableFields, Strategy, Validation};
use crate::error::ApiResult;
use crate::resources::Column;
use crate::table::TableColumn;

/// A custom resource at one served version of its CRD.
#[derive(Debug)]
pub struct CustomResource {
    /// Names from the CRD.
    pub names: Names,
    /// The version's `schema.openAPIV3Schema`, if any.
    pub schema: Option<Arc<Value>>,
    /// The version's `additionalPrinterColumns`.
    pub columns: Vec<Column>,
}

impl Strategy for CustomResource {
    fn names(&self) -> Names {
        self.names.clone()
    }

    fn tracks_generation(&self) -> bool {
        true
    }

    fn allow_unconditional_update(&self) -> bool {
        false
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        // With a status subresource, status is written through it only.
        if self.names.status
            && let Some(map) = obj.as_object_mut()
        {
            map.remove("status");
        }
    }

    /// The CRD's structural schema, as kube-apiserver applies it to any
    /// custom resource: unknown fields pruned (or refused under Strict),
    /// defaults filled, then validation (a missing required field is a 422
    /// naming it).
    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        if let Some(schema) = &self.schema {
            let outcome = crate::schema::apply(schema, obj);
            cx.unknown_fields(outcome.unknown)?;
            cx.causes.extend(outcome.causes);
        }
        Ok(())
    }

    fn delete_returns_object(&self) -> bool {
        true
    }

    /// apiextensions-apiserver's rule: `metadata.name`, and
    /// `metadata.namespace` for a namespaced resource only.
    /// (`spec.versions[].selectableFields` is not read yet.)
    fn selectable_fields(&self) -> SelectableFields {
        SelectableFields::Kind {
            namespace: self.names.namespaced,
            fields: &[],
        }
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        let mut cols = vec![TableColumn::name()];
        if self.columns.is_empty() {
            cols.push(TableColumn::age());
        } else {
            cols.extend(self.columns.iter().map(TableColumn::printer_column));
        }
        Some(cols)
    }
}
