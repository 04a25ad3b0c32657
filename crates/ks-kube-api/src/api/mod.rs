//! The Kubernetes-compatible REST API: one entry point parses the request
//! with ks-request-info and dispatches on verb, resource and subresource.

mod discovery;
mod negotiate;
pub(crate) mod params;
pub(crate) mod read;
mod watch;
pub(crate) mod write;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header};
use ks_request_info::RequestInfo;
use serde_json::Value;

use crate::app::{App, MAX_BODY_BYTES};
use crate::error::{ApiError, ApiResult, GroupResource};
use crate::resources::{RegistryView, ResourceDef};
use crate::user::UserInfo;

pub(crate) use negotiate::{Format, IncludeObject};
pub(crate) use params::Params;
pub use watch::WebSocketSession;

/// The axum handler every request goes through.
pub async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let started = std::time::Instant::now();
    let response = match dispatch(&app, request).await {
        Ok(response) => response,
        Err(err) => {
            let mut response = error_response(&err);
            if err.code == 413 {
                // The rest of an oversized body was not read.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    };
    tracing::debug!(
        method = %method,
        path = uri.path(),
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// A JSON response with a status code.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The `Status` response of an error.
pub(crate) fn error_response(err: &ApiError) -> Response {
    let body = serde_json::to_vec(&err.to_status()).unwrap_or_default();
    let status = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, body);
    if let Some(seconds) = err.retry_after_seconds
        && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// What one resource request is about.
pub(crate) struct Target<'a> {
    pub(crate) def: Arc<ResourceDef>,
    pub(crate) namespace: &'a str,
    pub(crate) name: &'a str,
    pub(crate) subresource: &'a str,
    /// Who is asking (from the request's [`UserInfo`] extension).
    pub(crate) user: &'a UserInfo,
}

impl Target<'_> {
    pub(crate) fn gr(&self) -> GroupResource<'_> {
        GroupResource {
            group: &self.def.group,
            resource: &self.def.plural,
        }
    }
}

async fn dispatch(app: &Arc<App>, request: Request) -> ApiResult<Response> {
    let (mut parts, body) = request.into_parts();
    let user = parts.extensions.remove::<UserInfo>().unwrap_or_default();
    // Taken before the path is parsed (which borrows `parts`); used only
    // if the request is a watch, as kube-apiserver upgrades only those.
    let upgrade = if watch::wants_websocket(&parts.headers) {
        use axum::extract::FromRequestParts;
        Some(axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &()).await)
    } else {
        None
    };
    let info = match app.resolver.parse_uri(&parts.method, &parts.uri) {
        Ok(info) => info,
        Err(failure) => {
            let code = failure.error.http_status();
            let message = failure.error.to_string();
            return Err(if code == 414 {
                ApiError {
                    code: 414,
                    reason: "RequestURITooLong",
                    ..ApiError::bad_request(message)
                }
            } else {
                ApiError::bad_request(message)
            });
        }
    };
    let params = Params::parse(parts.uri.query().unwrap_or(""))?;
    if parts.uri.path() == "/openapi/v2" && discovery::wants_v2_protobuf(&parts.headers) {
        // kubectl 1.27/1.28 read OpenAPI v2 only in protobuf.
        return discovery::openapi_v2_protobuf(app);
    }
    let path = parts.uri.path();
    let discovery_root = matches!(path.strip_suffix('/').unwrap_or(path), "/api" | "/apis");
    let format = negotiate::format(&parts.headers, &params, discovery_root)?;

    if !info.is_resource_request {
        if parts.method != Method::GET && parts.method != Method::HEAD {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({} {})",
                parts.method,
                parts.uri.path()
            )));
        }
        return discovery::serve(app, parts.uri.path(), &format);
    }
    if !info.cluster.is_empty() {
        return Err(ApiError {
            message: format!(
                "cluster {:?} is not known to this server (multi-cluster proxying is not implemented)",
                info.cluster
            ),
            ..ApiError::no_route()
        });
    }
    if info.api_prefix != "api" && info.api_prefix != "apis" {
        return Err(ApiError::no_route());
    }
    let view = app.registry.view();
    let Some(def) = view
        .get(&info.api_group, &info.api_version, &info.resource)
        .cloned()
    else {
        return Err(ApiError::no_route());
    };
    // Kubernetes' request info reports a namespace's own name as the
    // request namespace (`/api/v1/namespaces/foo`, a grammar rule of the
    // path); the object itself is cluster-scoped.
    let namespace: &str = if def.is("", "namespaces") {
        ""
    } else {
        &info.namespace
    };
    let target = Target {
        def,
        namespace,
        name: &info.name,
        subresource: &info.subresource,
        user: &user,
    };
    check_scope(&target, &info)?;

    let body_bytes = match parts.method {
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE => {
            read_body(&parts.headers, body).await?
        }
        _ => bytes::Bytes::new(),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();

    match (info.verb.as_ref(), target.subresource) {
        ("get", "" | "status") => read::get(app, &target, &format, &params).await,
        ("list", "") => read::list(app, &target, &format, &params, &info).await,
        ("watch", "") => {
            let upgrade = upgrade
                .transpose()
                .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
            watch::watch(app, &target, format, &params, upgrade).await
        }
        ("create", "") => {
            write::create(app, &target, &format, &params, &content_type, &body_bytes).await
        }
        ("update", "" | "status") => {
            write::update(app, &target, &format, &params, &content_type, &body_bytes).await
        }
        ("patch", "" | "status") => {
            write::patch(app, &target, &format, &params, &content_type, &body_bytes).await
        }
        ("delete", "") => write::delete(app, &target, &format, &params, &body_bytes).await,
        ("deletecollection", "") => {
            write::delete_collection(app, &target, &format, &params, &info, &body_bytes).await
        }
        (verb, sub) if !sub.is_empty() && (sub != "status" || !target.def.status) => {
            let _ = verb;
            Err(ApiError::no_route())
        }
        (verb, _) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource (verb {verb})"
        ))),
    }
}

/// Rejects namespaced paths for cluster-scoped resources and subresources
/// nobody serves.
fn check_scope(target: &Target<'_>, info: &RequestInfo<'_>) -> ApiResult<()> {
    if !target.def.namespaced && !target.namespace.is_empty() {
        return Err(ApiError::no_route());
    }
    if !target.subresource.is_empty() && (target.subresource != "status" || !target.def.status) {
        return Err(ApiError::no_route());
    }
    if !target.subresource.is_empty() && target.name.is_empty() {
        return Err(ApiError::no_route());
    }
    let _ = info;
    Ok(())
}

/// How much of an oversized body is read and dropped before the 413 is
/// sent. A client (or a proxy such as `kubectl proxy`) still writing the
/// body when the server answers and closes sees a broken pipe instead of
/// the answer; draining lets the 413 arrive. Past this, the connection is
/// closed without reading further.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// How long draining an oversized body may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads a request body of at most [`MAX_BODY_BYTES`]; a larger one is a
/// 413 (answered on a connection that then closes, see [`DRAIN_BYTES`]).
async fn read_body(headers: &http::HeaderMap, body: Body) -> ApiResult<bytes::Bytes> {
    use http_body_util::BodyExt;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES + DRAIN_BYTES) {
        return Err(too_large());
    }
    let mut body = body;
    // One frame (the usual case) is kept as it came, without a copy.
    let mut first: Option<bytes::Bytes> = None;
    let mut collected = bytes::BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total > MAX_BODY_BYTES {
            let deadline = tokio::time::Instant::now() + DRAIN_TIME;
            while total <= MAX_BODY_BYTES + DRAIN_BYTES {
                match tokio::time::timeout_at(deadline, body.frame()).await {
                    Ok(Some(Ok(frame))) => {
                        total += frame.data_ref().map_or(0, bytes::Bytes::len);
                    }
                    _ => break,
                }
            }
            return Err(too_large());
        }
        match first.take() {
            None if collected.is_empty() => first = Some(data),
            None => collected.extend_from_slice(&data),
            Some(earlier) => {
                collected.extend_from_slice(&earlier);
                collected.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| collected.freeze()))
}

fn too_large() -> ApiError {
    ApiError::too_large(format!(
        "the request body is larger than {MAX_BODY_BYTES} bytes"
    ))
}

/// Decodes a JSON, YAML or (for kinds that have a protobuf message)
/// Kubernetes protobuf request body into an object; `view` names the
/// kinds a protobuf body may be.
pub(crate) fn decode_body(
    body: &[u8],
    content_type: &str,
    view: &RegistryView,
) -> ApiResult<Value> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let value: Value = match media.as_str() {
        _ if crate::protobuf::is_protobuf(&media) => {
            crate::protobuf::decode_object(body, &|api_version: &str, kind: &str| {
                view.by_api_version_kind(api_version, kind).map(|d| Arc::clone(&d.strategy))
            })
            .map_err(ApiError::bad_request)?
        }
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_norway::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body of the request was in an unknown format: {e}")))?,
        "" | "application/json" | "*/*" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml: {e}")))?,
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {other})"
            )));
        }
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(value)
}

/// Creates an object from inside the server (bootstrap, controllers), as
/// `system:apiserver` in `system:masters` (Kubernetes' loopback identity),
/// through the whole admission chain. Returns false when it already
/// exists.
pub async fn create_internal(app: &App, obj: Value) -> ApiResult<bool> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let view = app.registry.view();
    let Some(def) = view
        .all()
        .find(|d| d.group == group && d.version == version && d.kind == kind)
        .cloned()
    else {
        return Err(ApiError::internal(format!(
            "no resource serves {api_version} {kind}"
        )));
    };
    let namespace = crate::object::meta_str(&obj, "namespace").to_owned();
    let name = crate::object::meta_str(&obj, "name").to_owned();
    if app
        .store
        .get(&def.key(&namespace, &name))
        .await
        .map_err(ApiError::from)?
        .is_some()
    {
        return Ok(false);
    }
    // Kubernetes' loopback identity: the server's own writes.
    let user = UserInfo::new("system:apiserver", ["system:masters"]);
    let target = Target {
        def,
        namespace: &namespace,
        name: "",
        subresource: "",
        user: &user,
    };
    match write::create_object(app, &target, &Format::Json, &Params::default(), obj).await {
        Ok(_) => Ok(true),
        Err(e) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}
