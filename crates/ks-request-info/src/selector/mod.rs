//! Label and field selectors, parsed and matched as Kubernetes does.
//!
//! The grammar, the validation and the error messages follow
//! k8s.io/apimachinery `pkg/labels` and `pkg/fields`, so a client sees the
//! same text from us as from kube-apiserver.

mod field;
mod label;
mod validation;

pub use field::{FieldRequirement, FieldSelector};
pub use label::{LabelRequirement, LabelSelector, Operator};
pub(crate) use validation::is_valid_path_segment_name;

use std::fmt;

/// Which kind of selector an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorKind {
    /// `labelSelector`.
    Label,
    /// `fieldSelector`.
    Field,
}

impl fmt::Display for SelectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelectorKind::Label => "labelSelector",
            SelectorKind::Field => "fieldSelector",
        })
    }
}

/// A selector that does not parse. Its `Display` is Kubernetes' message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    /// Label or field selector.
    pub kind: SelectorKind,
    /// The message, worded as k8s.io/apimachinery words it.
    pub message: String,
}

impl SelectorError {
    pub(crate) fn label(message: impl Into<String>) -> Self {
        SelectorError {
            kind: SelectorKind::Label,
            message: message.into(),
        }
    }

    pub(crate) fn field(message: impl Into<String>) -> Self {
        SelectorError {
            kind: SelectorKind::Field,
            message: message.into(),
        }
    }
}
