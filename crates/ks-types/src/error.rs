//! The crate's error type.

use std::fmt;

use crate::validation::FieldErrors;

/// The input format of a decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON.
    Json,
    /// YAML (a single document).
    Yaml,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        })
    }
}

/// A line and column in the input (both 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a valid object of the requested kind: bad syntax, a
    /// wrong type, a missing required field, or an `apiVersion`/`kind` that
    /// names another kind.
    #[error("{format} decode of {kind} failed at {}: {message}{}", display_path(.path), display_location(.location))]
    Decode {
        /// Format of the input.
        format: Format,
        /// Kind that was being decoded.
        kind: &'static str,
        /// Path of the offending field, e.g. `spec.email` (empty for the root).
        path: String,
        /// What was wrong.
        message: String,
        /// Where in the input, when the parser knows.
        location: Option<Location>,
    },

    /// Strict decoding found fields the kind does not define.
    #[error("{kind} has unknown fields: {}", .paths.join(", "))]
    UnknownFields {
        /// Kind that was being decoded.
        kind: &'static str,
        /// Path of every unknown field, in input order.
        paths: Vec<String>,
    },

    /// An object failed validation.
    #[error("{kind} {name:?} is invalid: {errors}")]
    Invalid {
        /// Kind of the object.
        kind: &'static str,
        /// Name of the object.
        name: String,
        /// Every field error found.
        errors: FieldErrors,
    },

    /// An annotation that must hold structured data does not parse.
    #[error("annotation {key} has an invalid value {value:?}: {message}")]
    Annotation {
        /// Annotation key.
        key: &'static str,
        /// The value found.
        value: String,
        /// Why it does not parse.
        message: String,
    },

    /// A CRD was asked for by a name that matches no kind.
    #[error(
        "no CRD matches {0:?} (use a kind, plural or full CRD name, e.g. User, users or users.iam.kubesphere.io)"
    )]
    UnknownCrd(String),

    /// Encoding an object failed.
    #[error("{format} encoding failed: {message}")]
    Encode {
        /// Output format.
        format: Format,
        /// What went wrong.
        message: String,
    },
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "the top level"
    } else {
        path
    }
}

fn display_location(location: &Option<Location>) -> String {
    match location {
        Some(l) => format!(" (line {}, column {})", l.line, l.column),
        None => String::new(),
    }
}
