//! JSON patch (RFC 6902) through the `json-patch` crate, with Kubernetes'
//! limits.

use json_patch::PatchOperation;
use serde_json::Value;

use super::{MAX_COPY_BYTES, MAX_DEPTH, MAX_JSON_PATCH_OPERATIONS, PatchError, PatchKind, limits};

/// Applies a JSON patch body to `original`.
///
/// Decoding mirrors evanphx/json-patch `DecodePatch` as Kubernetes uses it:
/// the body must be an array of objects (else 400); an object that is not a
/// valid operation (unknown `op`, missing `path`) fails when applied (422).
pub(super) fn apply(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let decoded: Value =
        serde_json::from_slice(body).map_err(|source| PatchError::InvalidJson {
            kind: PatchKind::Json,
            source,
        })?;
    let Value::Array(items) = decoded else {
        return Err(malformed(format!(
            "a JSON patch must be an array of operations, not {}",
            limits::type_name(&decoded)
        )));
    };
    if let Some(index) = items.iter().position(|item| !item.is_object()) {
        return Err(malformed(format!("operation {index} is not a JSON object")));
    }
    if items.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations {
            count: items.len(),
            limit: MAX_JSON_PATCH_OPERATIONS,
        });
    }
    let operations = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value::<PatchOperation>(item).map_err(|error| {
                PatchError::OperationFailed {
                    index,
                    path: String::new(),
                    reason: error.to_string(),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut document = original.clone();
    let mut bounds = Bounds {
        depth: limits::depth(&document),
        copy_budget: MAX_COPY_BYTES,
    };
    for (index, operation) in operations.iter().enumerate() {
        // A `test` of `null` on a missing path passes, as in Kubernetes (its
        // JSON patch library reads a missing value as null); kube-runtime's
        // finalizer helper starts its first patch with exactly that test.
        if let PatchOperation::Test(test) = operation
            && test.value.is_null()
            && document.pointer(test.path.as_str()).is_none()
        {
            continue;
        }
        bounds.admit(&document, operation)?;
        // `patch_unsafe` leaves the document half-patched on error; the
        // document is our copy and is dropped on error, so nothing needs
        // undoing.
        json_patch::patch_unsafe(&mut document, std::slice::from_ref(operation)).map_err(
            |error| PatchError::OperationFailed {
                index,
                path: error.path.to_string(),
                reason: error.kind.to_string(),
            },
        )?;
    }
    Ok(document)
}

/// The running bounds that keep a JSON patch's work and result finite.
struct Bounds {
    /// An upper bound on the document's nesting depth.
    depth: usize,
    /// How many bytes `copy` operations may still copy.
    copy_budget: usize,
}

impl Bounds {
    /// Checks one operation before it runs: the depth at which it places a
    /// value stays within [`MAX_DEPTH`] and copies stay within their budget.
    /// Checking before applying keeps over-deep documents (whose recursive
    /// drop could exhaust the stack) from ever being built.
    fn admit(&mut self, document: &Value, operation: &PatchOperation) -> Result<(), PatchError> {
        let placed = match operation {
            PatchOperation::Add(add) => add.path.count() + limits::depth(&add.value),
            PatchOperation::Replace(replace) => {
                replace.path.count() + limits::depth(&replace.value)
            }
            // The moved value is at most as deep as the document below its
            // source: a conservative bound that needs no walk of the value.
            PatchOperation::Move(moved) => {
                (moved.path.count() + self.depth).saturating_sub(moved.from.count())
            }
            PatchOperation::Copy(copy) => {
                // A missing source is left for json-patch to report.
                let Some(source) = document.pointer(copy.from.as_str()) else {
                    return Ok(());
                };
                let len = limits::json_len_within(source, self.copy_budget).ok_or(
                    PatchError::CopyLimitExceeded {
                        limit: MAX_COPY_BYTES,
                    },
                )?;
                self.copy_budget -= len;
                copy.path.count() + limits::depth(source)
            }
            PatchOperation::Remove(_) | PatchOperation::Test(_) => return Ok(()),
        };
        if placed > MAX_DEPTH {
            return Err(PatchError::TooDeep { limit: MAX_DEPTH });
        }
        self.depth = self.depth.max(placed);
        Ok(())
    }
}

fn malformed(reason: String) -> PatchError {
    PatchError::Malformed {
        kind: PatchKind::Json,
        path: String::new(),
        reason,
    }
}
