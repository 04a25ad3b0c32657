//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! Kubernetes' strategic merge patch, applied to objects stored as JSON.
//!
//! The semantics follow the Kubernetes API server
//! (`k8s.io/apiserver/pkg/endpoints/handlers/patch.go`) and apimachinery's
//! `pkg/util/strategicpatch` and `pkg/util/mergepatch`; the code is our own.
//!
//! ```
//! use ks_kube_api::patch::{apply_patch, strategic_schema, PatchKind};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let live = json!({
//!     "apiVersion": "v1",
//!     "kind": "ConfigMap",
//!     "metadata": {"name": "settings", "finalizers": ["a"]},
//!     "data": {"mode": "fast"},
//! });
//! let kind = PatchKind::from_content_type("application/strategic-merge-patch+json; charset=utf-8")
//!     .ok_or("415: unsupported patch type")?;
//! let body = br#"{"metadata": {"finalizers": ["a", "b"]}, "data": {"level": "3"}}"#;
//! let patched = apply_patch(kind, &live, body, strategic_schema("", "ConfigMap"))?;
//! assert_eq!(patched["metadata"]["finalizers"], json!(["a", "b"]));
//! assert_eq!(patched["data"], json!({"mode": "fast", "level": "3"}));
//! # Ok(())
//! # }
//! ```
//!
//! # Errors and HTTP status
//!
//! [`PatchError::http_status`] and [`PatchError::reason`] give the status a
//! caller answers with, as Kubernetes does:
//!
//! | status | reason | when |
//! | --- | --- | --- |
//! | 400 | `BadRequest` | the body is not JSON, or not a patch of its kind (a JSON patch that is not an array of objects, a merge patch that is a scalar or `null`, a strategic merge patch that is not an object, an unknown or ill-formed strategic directive) |
//! | 413 | `RequestEntityTooLarge` | more than [`MAX_JSON_PATCH_OPERATIONS`] operations, or a body over [`MAX_PATCH_BYTES`] |
//! | 415 | `UnsupportedMediaType` | strategic merge patch without a schema (custom resources), server-side apply |
//! | 422 | `Invalid` | the patch cannot be applied to this object: a JSON patch operation failed (`test` mismatch, missing path), copies exceeded [`MAX_COPY_BYTES`], a strategic list merge met data it cannot merge, the result is not an object or nests deeper than [`MAX_DEPTH`] |
//!
//! Kubernetes' `patch.go` answers a failed JSON patch operation with
//! `NewGenericServerResponse(422)`, whose reason is `Invalid` (so
//! `kubectl patch --type=json` with a bad path prints "The request is
//! invalid"); a patched document that does not decode into the object with
//! `NewInvalid` (422); an undecodable patch with `NewBadRequest` (400); too
//! many JSON patch operations with `NewRequestEntityTooLargeError` (413); and
//! maps apimachinery's strategic-merge sentinel errors in
//! `interpretStrategicMergePatchError` (bad directive formats 400, lists of
//! lists 422). Errors Kubernetes leaves unmapped (and so answers with 500),
//! such as a list item without its merge key or an unknown `$patch` value,
//! are 400 here when the patch alone is at fault and 422 when the live object
//! is.
//!
//! # Limits
//!
//! Work is bounded by the body size: JSON patch is capped at
//! [`MAX_JSON_PATCH_OPERATIONS`] operations and [`MAX_COPY_BYTES`] copied
//! bytes (Kubernetes' `maxJSONPatchOperations` and `JSONPatchMaxCopyBytes`),
//! list merges use hash lookups and sorting (no quadratic scans), and the
//! result never nests deeper than [`MAX_DEPTH`], the depth `serde_json` can
//! read back. Nothing here panics on any input.

mod error;
mod limits;
mod merge;
mod operations;
mod schema;
mod strategic;

#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::Value;

pub use error::PatchError;
pub use schema::{
    Field, METADATA, OBJECT_META, PatchStrategy, Shape, StrategicSchema, field, strategic_schema,
};

/// The largest patch body accepted, in bytes: Kubernetes' default
/// `MaxRequestBodyBytes` (3 MiB).
pub const MAX_PATCH_BYTES: usize = 3 * 1024 * 1024;

/// The most operations a JSON patch may hold (Kubernetes'
/// `maxJSONPatchOperations`).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The most bytes the `copy` operations of one JSON patch may copy in total
/// (Kubernetes' default `JSONPatchMaxCopyBytes`, 3 MiB). Without it, a dozen
/// copies that each double the document would exhaust memory.
pub const MAX_COPY_BYTES: usize = 3 * 1024 * 1024;

/// The deepest nesting of arrays and objects a patched document may have:
/// the most `serde_json` parses, so a stored result can always be read back.
pub const MAX_DEPTH: usize = 127;

/// The kind of a PATCH body, chosen by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchKind {
    /// `application/json-patch+json`: a JSON patch (RFC 6902).
    Json,
    /// `application/merge-patch+json`: a JSON merge patch (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`: Kubernetes' strategic merge
    /// patch, for the built-in kinds that have a [`StrategicSchema`].
    Strategic,
    /// `application/apply-patch+yaml`: server-side apply, which this server
    /// does not implement ([`apply_patch`] answers
    /// [`PatchError::ApplyUnsupported`], 415).
    Apply,
}

impl PatchKind {
    /// Every patch kind, in the order Kubernetes lists their media types.
    pub const ALL: [PatchKind; 4] = [
        PatchKind::Json,
        PatchKind::Merge,
        PatchKind::Strategic,
        PatchKind::Apply,
    ];

    /// The patch kind of a `Content-Type` header value:
    /// `application/json-patch+json`, `application/merge-patch+json`,
    /// `application/strategic-merge-patch+json` or
    /// `application/apply-patch+yaml`. Parameters such as `; charset=utf-8`
    /// and the case of the media type are ignored. `None` for anything else,
    /// which the caller answers with 415 UnsupportedMediaType.
    pub fn from_content_type(content_type: &str) -> Option<PatchKind> {
        let essence = content_type
            .split_once(';')
            .map_or(content_type, |(essence, _)| essence)
            .trim();
        Self::ALL
            .into_iter()
            .find(|kind| kind.content_type().eq_ignore_ascii_case(essence))
    }

    /// The media type of this patch kind, as in a `Content-Type` header.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchKind::Json => "application/json-patch+json",
            PatchKind::Merge => "application/merge-patch+json",
            PatchKind::Strategic => "application/strategic-merge-patch+json",
            PatchKind::Apply => "application/apply-patch+yaml",
        }
    }
}

impl fmt::Display for PatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatchKind::Json => "JSON patch",
            PatchKind::Merge => "JSON merge patch",
            PatchKind::Strategic => "strategic merge patch",
            PatchKind::Apply => "apply patch",
        })
    }
}

/// Applies a patch body of the given kind to `original` and returns the
/// patched document, which is always a JSON object no deeper than
/// [`MAX_DEPTH`].
///
/// - [`PatchKind::Json`]: the body must be a JSON array of operations; they
///   apply in order, and the first that fails fails the patch.
/// - [`PatchKind::Merge`]: the body must be a JSON object; `null` deletes a
///   field, objects merge recursively, anything else replaces.
/// - [`PatchKind::Strategic`]: needs the kind's `schema` (from
///   [`strategic_schema`]); without one the answer is
///   [`PatchError::StrategicMergeUnsupported`] (415), as Kubernetes answers
///   for custom resources. See [`StrategicSchema`] for the semantics.
/// - [`PatchKind::Apply`]: always [`PatchError::ApplyUnsupported`] (415).
///
/// `schema` is ignored by the other kinds. Never panics; the work done is
/// bounded by the size of `original` and of the body (see the module docs).
pub fn apply_patch(
    kind: PatchKind,
    original: &Value,
    patch: &[u8],
    schema: Option<&StrategicSchema>,
) -> Result<Value, PatchError> {
    // Unsupported kinds are refused before the body is looked at, as
    // Kubernetes checks the Content-Type first.
    let schema = match kind {
        PatchKind::Apply => return Err(PatchError::ApplyUnsupported),
        PatchKind::Strategic => Some(schema.ok_or(PatchError::StrategicMergeUnsupported)?),
        PatchKind::Json | PatchKind::Merge => None,
    };
    if patch.len() > MAX_PATCH_BYTES {
        return Err(PatchError::BodyTooLarge {
            len: patch.len(),
            limit: MAX_PATCH_BYTES,
        });
    }
    let patched = match schema {
        Some(schema) => strategic::apply(original, patch, schema)?,
        None if kind == PatchKind::Json => operations::apply(original, patch)?,
        None => merge::apply(original, patch)?,
    };
    if !patched.is_object() {
        return Err(PatchError::NotAnObject {
            found: limits::type_name(&patched),
        });
    }
    if limits::depth(&patched) > MAX_DEPTH {
        return Err(PatchError::TooDeep { limit: MAX_DEPTH });
    }
    Ok(patched)
}
