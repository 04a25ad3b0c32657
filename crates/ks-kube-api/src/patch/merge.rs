//! JSON merge patch (RFC 7386), as Kubernetes applies it.

use serde_json::Value;

use super::{PatchError, PatchKind, limits};

/// Applies a merge patch body to `original`.
///
/// RFC 7386 allows any JSON value as a patch; Kubernetes (evanphx/json-patch
/// `MergePatch` in `patch.go`) answers 400 for `null` and scalars, and for an
/// array returns the array, which then fails to decode as the object (422).
pub(super) fn apply(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let patch: Value = serde_json::from_slice(body).map_err(|source| PatchError::InvalidJson {
        kind: PatchKind::Merge,
        source,
    })?;
    match patch {
        Value::Object(_) => {
            let mut patched = original.clone();
            merge_into(&mut patched, patch);
            Ok(patched)
        }
        Value::Array(_) => Err(PatchError::NotAnObject { found: "array" }),
        other => Err(PatchError::Malformed {
            kind: PatchKind::Merge,
            path: String::new(),
            reason: format!(
                "a merge patch must be a JSON object, not {}",
                limits::type_name(&other)
            ),
        }),
    }
}

/// RFC 7386 `MergePatch(target, patch)`, in place: `null` members delete,
/// objects merge recursively, anything else replaces. Recursion follows the
/// patch, whose depth the JSON parser bounds.
pub(super) fn merge_into(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(fields) = target {
        for (key, value) in patch {
            if value.is_null() {
                fields.remove(&key);
            } else {
                merge_into(fields.entry(key).or_insert(Value::Null), value);
            }
        }
    }
}
