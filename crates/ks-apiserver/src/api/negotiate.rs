//! Content negotiation: JSON, YAML, or a server-side printed Table
//! (`application/json;as=Table;v=v1;g=meta.k8s.io`, which kubectl asks for).

use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

use super::Params;
use crate::error::{ApiError, ApiResult};

/// What a response is rendered as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/json`.
    Json,
    /// `application/yaml`.
    Yaml,
    /// A meta.k8s.io Table of the given version (`v1` or `v1beta1`).
    Table {
        /// `v1` or `v1beta1`.
        version: &'static str,
        /// `includeObject`: `None`, `Metadata` (default) or `Object`.
        include: IncludeObject,
    },
}

/// Which object a Table row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    /// No object.
    None,
    /// A PartialObjectMetadata.
    Metadata,
    /// The whole object.
    Object,
}

/// Picks the response format from `Accept`. Protobuf-only clients get 406,
/// as from a server that does not speak protobuf.
pub(crate) fn format(headers: &HeaderMap, params: &Params) -> ApiResult<Format> {
    let accept = match headers.get(header::ACCEPT).map(|v| v.to_str()) {
        None => return Ok(Format::Json),
        Some(Ok(s)) if s.trim().is_empty() => return Ok(Format::Json),
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            return Err(ApiError::not_acceptable(
                "the Accept header is not valid text",
            ));
        }
    };
    for item in accept.split(',') {
        let mut pieces = item.split(';');
        let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut as_ = "";
        let mut group = "";
        let mut version = "";
        for param in pieces {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            match k.trim() {
                "as" => as_ = v.trim(),
                "g" => group = v.trim(),
                "v" => version = v.trim(),
                _ => {}
            }
        }
        let json_like = matches!(media.as_str(), "application/json" | "*/*" | "application/*");
        if as_ == "Table" {
            if json_like && group == "meta.k8s.io" && (version == "v1" || version == "v1beta1") {
                let include = match params.include_object.as_deref() {
                    None | Some("") | Some("Metadata") => IncludeObject::Metadata,
                    Some("None") => IncludeObject::None,
                    Some("Object") => IncludeObject::Object,
                    Some(other) => {
                        return Err(ApiError::bad_request(format!(
                            "includeObject: Unsupported value: {other:?}"
                        )));
                    }
                };
                let version = if version == "v1" { "v1" } else { "v1beta1" };
                return Ok(Format::Table { version, include });
            }
            continue;
        }
        if !as_.is_empty() {
            // PartialObjectMetadata(List) and other conversions: not served.
            continue;
        }
        if json_like {
            return Ok(Format::Json);
        }
        if matches!(
            media.as_str(),
            "application/yaml" | "application/x-yaml" | "text/yaml"
        ) {
            return Ok(Format::Yaml);
        }
    }
    Err(ApiError::not_acceptable(
        "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io",
    ))
}

/// Renders a value as a response in `format` (Table is converted by the
/// caller; here it is sent as JSON).
pub(crate) fn respond(status: StatusCode, format: &Format, value: &Value) -> Response {
    match format {
        Format::Yaml => match serde_norway::to_string(value) {
            Ok(text) => {
                let mut response = Response::new(axum::body::Body::from(text));
                *response.status_mut() = status;
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/yaml"),
                );
                response
            }
            Err(e) => super::error_response(&ApiError::internal(format!("encoding YAML: {e}"))),
        },
        _ => super::json_response(status, serde_json::to_vec(value).unwrap_or_default()),
    }
}

/// Sends already-encoded JSON bytes, converting to YAML when asked.
pub(crate) fn respond_bytes(status: StatusCode, format: &Format, bytes: Vec<u8>) -> Response {
    match format {
        Format::Yaml => match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => respond(status, format, &value),
            Err(e) => super::error_response(&ApiError::internal(format!("re-encoding: {e}"))),
        },
        _ => super::json_response(status, bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(accept: &str) -> ApiResult<Format> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        format(&h, &Params::default())
    }

    #[test]
    fn kubectl_get_asks_for_a_table() {
        let f = fmt("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json").unwrap();
        assert_eq!(
            f,
            Format::Table {
                version: "v1",
                include: IncludeObject::Metadata
            }
        );
    }

    #[test]
    fn falls_back_to_json_and_rejects_protobuf_only() {
        assert_eq!(
            fmt("application/vnd.kubernetes.protobuf, application/json").unwrap(),
            Format::Json
        );
        assert_eq!(
            fmt(
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io, application/json"
            )
            .unwrap(),
            Format::Json
        );
        assert_eq!(fmt("*/*").unwrap(), Format::Json);
        assert_eq!(fmt("application/yaml").unwrap(), Format::Yaml);
        assert_eq!(
            fmt("application/vnd.kubernetes.protobuf").unwrap_err().code,
            406
        );
    }
}
