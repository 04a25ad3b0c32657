//! Non-resource endpoints: health, version, discovery, OpenAPI.

use std::sync::Arc;

use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::{Format, negotiate};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::resources::{RegistryView, ResourceDef};

const RESOURCE_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

pub(super) fn serve(app: &Arc<App>, path: &str, format: &Format) -> ApiResult<Response> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    match path {
        "/healthz" | "/livez" | "/readyz" => return Ok(health(app, path)),
        "/version" => return Ok(negotiate::respond(StatusCode::OK, format, &app.version)),
        "/openapi/v2" => return openapi_bytes(app, OpenApiDoc::V2),
        "/openapi/v3" => return openapi_bytes(app, OpenApiDoc::V3Index),
        _ => {}
    }
    if let Some(check) = ["/healthz/", "/livez/", "/readyz/"]
        .iter()
        .find(|p| path.starts_with(**p))
    {
        let _ = check;
        return Ok(health(app, path));
    }
    if let Some(gv) = path.strip_prefix("/openapi/v3/") {
        return openapi_bytes(app, OpenApiDoc::V3(gv.to_owned()));
    }
    let view = app.registry.view();
    if let Format::Discovery { version } = format {
        // Negotiated only for `/api` and `/apis`.
        return Ok(aggregated(&view, path == "/api", version));
    }
    let body = match path {
        "/" => json!({"paths": root_paths(&view)}),
        "/api" => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
        }),
        "/api/v1" => resource_list(&view, "", "v1"),
        "/apis" => {
            let groups: Vec<Value> = view
                .groups()
                .iter()
                .filter(|(g, _)| !g.is_empty())
                .map(|(g, versions)| api_group(g, versions))
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        _ => {
            let Some(rest) = path.strip_prefix("/apis/") else {
                return Err(ApiError::no_route());
            };
            let groups = view.groups();
            match rest.split_once('/') {
                None => {
                    let Some((g, versions)) =
                        groups.iter().find(|(g, _)| g == rest && !g.is_empty())
                    else {
                        return Err(ApiError::no_route());
                    };
                    let mut group = api_group(g, versions);
                    group["kind"] = json!("APIGroup");
                    group["apiVersion"] = json!("v1");
                    group
                }
                Some((group, version)) => {
                    if version.contains('/') || view.group_version(group, version).next().is_none()
                    {
                        return Err(ApiError::no_route());
                    }
                    resource_list(&view, group, version)
                }
            }
        }
    };
    let mut response = negotiate::respond(StatusCode::OK, format, &body);
    if matches!(path, "/api" | "/apis") {
        // The same URL also serves aggregated discovery.
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    Ok(response)
}

/// Aggregated discovery (`apidiscovery.k8s.io`, `v2` or `v2beta1`: the same
/// shape): every group of `/apis`, or the core group for `/api`, with all
/// its versions (preferred first) and their resources, in one document.
fn aggregated(view: &RegistryView, core: bool, version: &str) -> Response {
    let items: Vec<Value> = view
        .groups()
        .iter()
        .filter(|(group, _)| group.is_empty() == core)
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = view
                        .group_version(group, v)
                        .map(|def| resource_discovery(def))
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            // The core group's name is empty, which leaves no name at all.
            let metadata = if group.is_empty() {
                json!({})
            } else {
                json!({"name": group})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    let mut response = super::json_response(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    let content_type =
        format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// One resource of [`aggregated`] discovery, with its status subresource.
fn resource_discovery(def: &ResourceDef) -> Value {
    let kind = json!({"group": def.group, "version": def.version, "kind": def.kind});
    let mut entry = json!({
        "resource": def.plural,
        "responseKind": kind,
        "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": def.singular,
        "verbs": RESOURCE_VERBS,
    });
    add_names(&mut entry, def);
    if def.status {
        entry["subresources"] =
            json!([{"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}]);
    }
    entry
}

fn health(app: &App, path: &str) -> Response {
    let (status, text) = if path.starts_with("/readyz") && app.is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    } else {
        (StatusCode::OK, "ok")
    };
    let mut response = Response::new(axum::body::Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn root_paths(view: &RegistryView) -> Vec<String> {
    let mut paths = vec!["/api".to_owned(), "/api/v1".to_owned(), "/apis".to_owned()];
    for (group, versions) in view.groups() {
        if group.is_empty() {
            continue;
        }
        paths.push(format!("/apis/{group}"));
        for v in versions {
            paths.push(format!("/apis/{group}/{v}"));
        }
    }
    paths.extend(
        [
            "/healthz",
            "/livez",
            "/readyz",
            "/openapi/v2",
            "/openapi/v3",
            "/version",
        ]
        .map(str::to_owned),
    );
    paths
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = list.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": list, "preferredVersion": preferred})
}

/// The short names and categories of `def`, when it has any: the same
/// fields in the classic and the aggregated documents.
fn add_names(entry: &mut Value, def: &ResourceDef) {
    if !def.short_names.is_empty() {
        entry["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        entry["categories"] = json!(def.categories);
    }
}

fn resource_entry(def: &ResourceDef) -> Value {
    let mut entry = json!({
        "name": def.plural,
        "singularName": def.singular,
        "namespaced": def.namespaced,
        "kind": def.kind,
        "verbs": RESOURCE_VERBS,
    });
    add_names(&mut entry, def);
    entry
}

fn resource_list(view: &RegistryView, group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for def in view.group_version(group, version) {
        resources.push(resource_entry(def));
        if def.status {
            resources.push(json!({
                "name": format!("{}/status", def.plural),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

/// Whether the client asks for the protobuf OpenAPI v2 document.
pub(super) fn wants_v2_protobuf(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(crate::openapi::V2_PROTOBUF_MEDIA_TYPE))
}

/// `/openapi/v2` as gnostic protobuf.
pub(super) fn openapi_v2_protobuf(app: &App) -> ApiResult<Response> {
    openapi_bytes(app, OpenApiDoc::V2Protobuf)
}

enum OpenApiDoc {
    V2Protobuf,
    V2,
    V3Index,
    V3(String),
}

fn openapi_bytes(app: &App, doc: OpenApiDoc) -> ApiResult<Response> {
    let view = app.registry.view();
    let mut cache = match app.openapi.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    let fresh = cache.view.as_ref().is_some_and(|v| Arc::ptr_eq(v, &view));
    if !fresh {
        *cache = crate::app::OpenApiCache {
            view: Some(Arc::clone(&view)),
            ..Default::default()
        };
    }
    let protobuf = matches!(doc, OpenApiDoc::V2Protobuf);
    let mut etag = None;
    let bytes = match doc {
        OpenApiDoc::V2Protobuf => cache
            .v2_protobuf
            .get_or_insert_with(|| Arc::new(crate::openapi::v2_protobuf(&view)))
            .clone(),
        OpenApiDoc::V2 => cache
            .v2
            .get_or_insert_with(|| {
                Arc::new(serde_json::to_vec(&crate::openapi::v2(&view)).unwrap_or_default())
            })
            .clone(),
        OpenApiDoc::V3Index => cache
            .v3_index
            .get_or_insert_with(|| {
                Arc::new(serde_json::to_vec(&crate::openapi::v3_index(&view)).unwrap_or_default())
            })
            .clone(),
        OpenApiDoc::V3(gv) => {
            if let Some((bytes, hash)) = cache.v3_docs.get(&gv) {
                etag = Some(hash.clone());
                bytes.clone()
            } else {
                let (group, version) = match gv.split('/').collect::<Vec<_>>()[..] {
                    ["api", version] => ("", version),
                    ["apis", group, version] => (group, version),
                    _ => return Err(ApiError::no_route()),
                };
                let Some(doc) = crate::openapi::v3_group_version(&view, group, version) else {
                    return Err(ApiError::no_route());
                };
                let hash = crate::openapi::document_hash(&doc);
                let bytes = Arc::new(serde_json::to_vec(&doc).unwrap_or_default());
                cache.v3_docs.insert(gv, (Arc::clone(&bytes), hash.clone()));
                etag = Some(hash);
                bytes
            }
        }
    };
    drop(cache);
    let mut response = super::json_response(StatusCode::OK, bytes.as_ref().clone());
    if let Some(value) = etag.and_then(|h| HeaderValue::from_str(&format!("\"{h}\"")).ok()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    if protobuf {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::openapi::V2_PROTOBUF_CONTENT_TYPE),
        );
    }
    Ok(response)
}
