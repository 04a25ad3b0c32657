//! The crate's error type.

use crate::policy::Diagnostic;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Strict loading met a bad document; the diagnostic says where and why.
    #[error("{0}")]
    Load(Box<Diagnostic>),

    /// A resource scope name is none of `Global`, `Cluster`, `Workspace`,
    /// `Namespace`.
    #[error("unknown resource scope {0:?} (expected Global, Cluster, Workspace or Namespace)")]
    UnknownScope(String),

    /// Encoding objects as YAML failed.
    #[error("YAML encoding failed: {0}")]
    Encode(String),
}
