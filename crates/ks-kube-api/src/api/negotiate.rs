//! Content negotiation: JSON, YAML, a server-side printed Table
//! (`application/json;as=Table;v=v1;g=meta.k8s.io`, which kubectl asks for),
//! or, for `/api` and `/apis`, aggregated discovery
//! (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`).

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
    /// An apidiscovery.k8s.io APIGroupDiscoveryList (`v2` or `v2beta1`),
    /// only ever chosen for `/api` and `/apis`.
    Discovery {
        /// `v2` or `v2beta1`.
        version: &'static str,
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

/// Picks the response format from `Accept`, taking the first media type
/// this server can produce. Protobuf-only clients get 406, as from a server
/// that does not speak protobuf. Aggregated discovery is a candidate only
/// when `discovery_root` (the path is `/api` or `/apis`); elsewhere it is
/// skipped like any other conversion this server does not offer.
pub(crate) fn format(
    headers: &HeaderMap,
    params: &Params,
    discovery_root: bool,
) -> ApiResult<Format> {
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
        if as_ == "APIGroupDiscoveryList" {
            if discovery_root && json_like && group == "apidiscovery.k8s.io" {
                match version {
                    "v2" => return Ok(Format::Discovery { version: "v2" }),
                    "v2beta1" => return Ok(Format::Discovery { version: "v2beta1" }),
                    _ => {}
                }
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
        fmt_at(accept, false)
    }

    fn fmt_at(accept: &str, discovery_root: bool) -> ApiResult<Format> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        format(&h, &Params::default(), discovery_root)
    }

    /// What kubectl 1.30+ (v2 first) and 1.27-1.29 (v2beta1 only) send.
    const KUBECTL_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    const KUBECTL_V2BETA1: &str = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn aggregated_discovery_only_at_the_discovery_roots() {
        assert_eq!(
            fmt_at(KUBECTL_V2, true).unwrap(),
            Format::Discovery { version: "v2" }
        );
        assert_eq!(
            fmt_at(KUBECTL_V2BETA1, true).unwrap(),
            Format::Discovery { version: "v2beta1" }
        );
        // Elsewhere the same header means plain JSON.
        assert_eq!(fmt_at(KUBECTL_V2, false).unwrap(), Format::Json);
        // The client's order decides; unknown versions and groups are skipped.
        assert_eq!(
            fmt_at(
                "application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                true
            )
            .unwrap(),
            Format::Json
        );
        assert_eq!(
            fmt_at(
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json;g=example.com;v=v2;as=APIGroupDiscoveryList,application/yaml",
                true
            )
            .unwrap(),
            Format::Yaml
        );
        // Protobuf discovery is not served.
        assert_eq!(
            fmt_at(
                "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                true
            )
            .unwrap_err()
            .code,
            406
        );
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
