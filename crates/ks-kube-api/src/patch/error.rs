//! The error of [`apply_patch`](super::apply_patch) and its HTTP mapping.

use super::PatchKind;

/// Why a patch was refused. Each variant maps to the HTTP status and
/// Kubernetes `StatusReason` a caller answers with
/// ([`http_status`](Self::http_status), [`reason`](Self::reason)); the module
/// docs say where each mapping comes from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The body is not JSON, or nests deeper than the parser allows.
    /// 400 BadRequest.
    #[error("the {kind} body is not valid JSON: {source}")]
    InvalidJson {
        /// The kind of patch that was being decoded.
        kind: PatchKind,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The body is JSON but not a well-formed patch of its kind (for
    /// example a JSON patch that is not an array, a merge patch that is a
    /// string, an unknown strategic directive). 400 BadRequest.
    #[error("malformed {kind}{}: {reason}", at(.path))]
    Malformed {
        /// The kind of patch.
        kind: PatchKind,
        /// Where in the patch, as `metadata.ownerReferences[1]` (empty for
        /// the whole body).
        path: String,
        /// What is wrong there.
        reason: String,
    },
    /// The body is larger than [`MAX_PATCH_BYTES`](super::MAX_PATCH_BYTES).
    /// 413 RequestEntityTooLarge.
    #[error("the patch body is {len} bytes; at most {limit} are accepted")]
    BodyTooLarge {
        /// The body's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A JSON patch with more than
    /// [`MAX_JSON_PATCH_OPERATIONS`](super::MAX_JSON_PATCH_OPERATIONS)
    /// operations. 413 RequestEntityTooLarge, as in Kubernetes.
    #[error("the allowed maximum operations in a JSON patch is {limit}, got {count}")]
    TooManyOperations {
        /// The number of operations in the patch.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A JSON patch operation is invalid or failed against the document: a
    /// `test` did not match, a path does not exist, an unknown `op`.
    /// 422 Invalid, as Kubernetes answers.
    #[error("JSON patch operation {index} failed{}: {reason}", at(.path))]
    OperationFailed {
        /// The index of the operation in the patch, from 0.
        index: usize,
        /// The operation's `path` (a JSON pointer), when known.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The `copy` operations of a JSON patch would copy more than
    /// [`MAX_COPY_BYTES`](super::MAX_COPY_BYTES) in total. 422 Invalid, as
    /// Kubernetes answers (its copy limit fails the patch's `Apply`).
    #[error("JSON patch copy operations would copy more than {limit} bytes")]
    CopyLimitExceeded {
        /// The limit in bytes.
        limit: usize,
    },
    /// The patch is well formed but cannot be applied to this object: a
    /// strategic merge list holds items it cannot merge (lists of lists,
    /// objects without their merge key), or a directive targets a field of
    /// the wrong type. 422 Invalid.
    #[error("cannot apply the {kind}{}: {reason}", at(.path))]
    NotApplicable {
        /// The kind of patch.
        kind: PatchKind,
        /// Where in the object, as `metadata.ownerReferences[1]`.
        path: String,
        /// What could not be merged.
        reason: String,
    },
    /// The patched document would nest arrays and objects deeper than
    /// [`MAX_DEPTH`](super::MAX_DEPTH). 422 Invalid.
    #[error("the patched object would nest deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The patched document is not a JSON object (a merge patch that is an
    /// array, a JSON patch replacing the root with a scalar). 422 Invalid,
    /// as Kubernetes answers when the result does not decode.
    #[error("the patched document is a JSON {found}, not an object")]
    NotAnObject {
        /// The JSON type found: "array", "string", "number", "boolean" or
        /// "null".
        found: &'static str,
    },
    /// Strategic merge patch for a kind without a [`StrategicSchema`]
    /// (custom resources). 415 UnsupportedMediaType, as in Kubernetes.
    ///
    /// [`StrategicSchema`]: super::StrategicSchema
    #[error(
        "strategic merge patch is not supported for this resource; \
         use application/merge-patch+json or application/json-patch+json"
    )]
    StrategicMergeUnsupported,
    /// Server-side apply (`application/apply-patch+yaml`), which this server
    /// does not implement. 415 UnsupportedMediaType, which Kubernetes also
    /// answers when server-side apply is off.
    #[error(
        "server-side apply is not supported; use application/merge-patch+json, \
         application/json-patch+json or application/strategic-merge-patch+json"
    )]
    ApplyUnsupported,
}

impl PatchError {
    /// The HTTP status code to answer with: 400, 413, 415 or 422.
    pub fn http_status(&self) -> u16 {
        match self {
            PatchError::InvalidJson { .. } | PatchError::Malformed { .. } => 400,
            PatchError::BodyTooLarge { .. } | PatchError::TooManyOperations { .. } => 413,
            PatchError::StrategicMergeUnsupported | PatchError::ApplyUnsupported => 415,
            PatchError::OperationFailed { .. }
            | PatchError::CopyLimitExceeded { .. }
            | PatchError::NotApplicable { .. }
            | PatchError::TooDeep { .. }
            | PatchError::NotAnObject { .. } => 422,
        }
    }

    /// The Kubernetes `StatusReason` that goes with
    /// [`http_status`](Self::http_status): `BadRequest`,
    /// `RequestEntityTooLarge`, `UnsupportedMediaType` or `Invalid`.
    pub fn reason(&self) -> &'static str {
        match self.http_status() {
            400 => "BadRequest",
            413 => "RequestEntityTooLarge",
            415 => "UnsupportedMediaType",
            _ => "Invalid",
        }
    }
}

/// " at PATH", or nothing for an empty path.
fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}
