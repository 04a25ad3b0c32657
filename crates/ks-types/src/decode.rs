//! Decoding and encoding objects as JSON or YAML.
//!
//! Decoding is tolerant by default: fields a kind does not define are
//! ignored, as Kubernetes clients do for forward compatibility. The strict
//! mode rejects them, naming every unknown field with its path. Either way,
//! a wrong type, a missing required field or an `apiVersion`/`kind` of
//! another kind is an [`Error::Decode`] that names the field's path.
//!
//! ```
//! use ks_types::{decode, iam::User, Error};
//!
//! let yaml = b"apiVersion: iam.kubesphere.io/v1alpha2\nkind: User\nmetadata: {name: alice}\nspec: {email: alice@example.com, colour: blue}\n";
//! let user: User = decode::from_yaml(yaml)?;
//! assert_eq!(user.spec.email, "alice@example.com");
//!
//! match decode::from_yaml_strict::<User>(yaml) {
//!     Err(Error::UnknownFields { paths, .. }) => assert_eq!(paths, ["spec.colour"]),
//!     other => panic!("expected unknown fields, got {other:?}"),
//! }
//! # Ok::<(), Error>(())
//! ```

use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Error;
use crate::error::{Format, Location};
use crate::resource::KindInfo;

/// What decoding does with fields the kind does not define.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Ignore them (the default, like Kubernetes clients).
    #[default]
    Tolerant,
    /// Fail with [`Error::UnknownFields`] listing all of them.
    Strict,
}

/// Decodes a JSON object, ignoring unknown fields.
pub fn from_json<K: DeserializeOwned + KindInfo>(bytes: &[u8]) -> Result<K, Error> {
    decode(bytes, Format::Json, Mode::Tolerant)
}

/// Decodes a JSON object, failing on unknown fields.
pub fn from_json_strict<K: DeserializeOwned + KindInfo>(bytes: &[u8]) -> Result<K, Error> {
    decode(bytes, Format::Json, Mode::Strict)
}

/// Decodes a single-document YAML object, ignoring unknown fields.
pub fn from_yaml<K: DeserializeOwned + KindInfo>(bytes: &[u8]) -> Result<K, Error> {
    decode(bytes, Format::Yaml, Mode::Tolerant)
}

/// Decodes a single-document YAML object, failing on unknown fields.
pub fn from_yaml_strict<K: DeserializeOwned + KindInfo>(bytes: &[u8]) -> Result<K, Error> {
    decode(bytes, Format::Yaml, Mode::Strict)
}

/// Decodes `bytes` as a `K` in the given format and mode.
pub fn decode<K: DeserializeOwned + KindInfo>(
    bytes: &[u8],
    format: Format,
    mode: Mode,
) -> Result<K, Error> {
    let mut unknown = Vec::new();
    let value = match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let value =
                run::<K, _>(&mut de, mode, &mut unknown).map_err(|e| json_error(K::KIND, e))?;
            de.end().map_err(|e| json_error(K::KIND, Traced::root(e)))?;
            value
        }
        Format::Yaml => {
            let de = serde_norway::Deserializer::from_slice(bytes);
            run::<K, _>(de, mode, &mut unknown).map_err(|e| yaml_error(K::KIND, e))?
        }
    };
    if unknown.is_empty() {
        Ok(value)
    } else {
        Err(Error::UnknownFields {
            kind: K::KIND,
            paths: unknown,
        })
    }
}

/// Encodes an object as JSON, field names and empties exactly as Go does.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Encode {
        format: Format::Json,
        message: e.to_string(),
    })
}

/// Encodes an object as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_norway::to_string(value).map_err(|e| Error::Encode {
        format: Format::Yaml,
        message: e.to_string(),
    })
}

/// A deserializer error with the path where it happened.
struct Traced<E> {
    path: String,
    error: E,
}

impl<E> Traced<E> {
    fn root(error: E) -> Self {
        Traced {
            path: String::new(),
            error,
        }
    }
}

fn run<'de, K, D>(de: D, mode: Mode, unknown: &mut Vec<String>) -> Result<K, Traced<D::Error>>
where
    K: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let result = match mode {
        Mode::Tolerant => serde_path_to_error::deserialize(de),
        Mode::Strict => {
            let mut record = |path: serde_ignored::Path<'_>| unknown.push(ignored_path(&path));
            serde_path_to_error::deserialize(serde_ignored::Deserializer::new(de, &mut record))
        }
    };
    result.map_err(|e| Traced {
        path: error_path(e.path()),
        error: e.into_inner(),
    })
}

/// Formats a `serde_path_to_error` path the Kubernetes way:
/// `spec.rules[0].verbs`.
fn error_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            serde_path_to_error::Segment::Map { key } => push_key(&mut out, key),
            serde_path_to_error::Segment::Enum { variant } => push_key(&mut out, variant),
            serde_path_to_error::Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

/// Formats a `serde_ignored` path the Kubernetes way.
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    fn go(path: &serde_ignored::Path<'_>, out: &mut String) {
        match path {
            serde_ignored::Path::Root => {}
            serde_ignored::Path::Seq { parent, index } => {
                go(parent, out);
                let _ = write!(out, "[{index}]");
            }
            serde_ignored::Path::Map { parent, key } => {
                go(parent, out);
                push_key(out, key);
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => go(parent, out),
        }
    }
    let mut out = String::new();
    go(path, &mut out);
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(key);
}

/// Moves the field name of a "missing field `x`" error into the path, so
/// the path names the missing field itself.
fn refine_path(mut path: String, message: &str) -> String {
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        push_key(&mut path, field);
    }
    path
}

fn json_error(kind: &'static str, e: Traced<serde_json::Error>) -> Error {
    let location = (e.error.line() > 0).then(|| Location {
        line: e.error.line(),
        column: e.error.column(),
    });
    let mut message = e.error.to_string();
    // serde_json appends the location; it is reported separately.
    if let Some(l) = &location {
        let suffix = format!(" at line {} column {}", l.line, l.column);
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_owned();
        }
    }
    Error::Decode {
        format: Format::Json,
        kind,
        path: refine_path(e.path, &message),
        message,
        location,
    }
}

fn yaml_error(kind: &'static str, e: Traced<serde_norway::Error>) -> Error {
    let location = e.error.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let mut message = e.error.to_string();
    if let Some(l) = &location {
        let suffix = format!(" at line {} column {}", l.line, l.column);
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_owned();
        }
    }
    Error::Decode {
        format: Format::Yaml,
        kind,
        path: refine_path(e.path, &message),
        message,
        location,
    }
}
