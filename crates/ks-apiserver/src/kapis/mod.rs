//! KubeSphere's own APIs under `/kapis/{group}/{version}/...`.
//!
//! Every route sits behind the filter chain: the request is authorized on
//! its RequestInfo before a handler runs (`GET /kapis/tenant.kubesphere.io/
//! v1alpha2/workspaces/ws1/namespaces` is `list namespaces` in workspace
//! `ws1`), and handlers read the caller's identity from the request's
//! [`UserInfo`](ks_kube_api::UserInfo). Handlers that aggregate (the
//! tenant lists) ask the authorizer again per object, so a caller sees no
//! more than `/apis` would show it.
//!
//! - [`version`]: `/kapis/version` (public);
//! - [`config`]: `config.kubesphere.io/v1alpha2` `configs/oauth`,
//!   `configs/configz` and `configs/gpu/kinds` (public, never secrets);
//! - [`tenant`]: `tenant.kubesphere.io` workspaces, namespaces and
//!   clusters, filtered to what the caller may see;
//! - [`iam`]: `iam.kubesphere.io/v1alpha2` users;
//! - [`resources`]: `resources.kubesphere.io/v1alpha3`, any served
//!   resource, paged, sorted and filtered, no more than `/apis` shows;
//! - [`monitoring`]: `monitoring.kubesphere.io/v1alpha3`, the platform and
//!   workspace counts the console's dashboards read (no metrics backend);
//! - [`query`]: the common list query every list route takes;
//! - [`openapi`]: `/kapis/openapi/v3`, the OpenAPI document of these routes.
//!
//! Errors are Kubernetes `Status` objects; a path under `/kapis` that no
//! route serves is a 404 `Status`.

pub mod catalog;
pub mod config;
pub mod iam;
pub mod monitoring;
pub mod openapi;
pub mod query;
pub mod resources;
pub mod tenant;
pub mod version;

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use ks_kube_api::{ApiError, App};

use crate::filters::Security;
use crate::internal::Internal;

/// Writes one listed object (when its served JSON is not what a list
/// returns).
pub(crate) type Render<'a> = &'a (dyn Fn(&catalog::Entry) -> Vec<u8> + Sync);

/// What the /kapis handlers use.
#[derive(Debug)]
pub struct Kapis {
    /// The embedded Kubernetes API (its store and registry).
    pub app: Arc<App>,
    /// The server's own client of that API, for writes made on a caller's
    /// behalf once the caller is authorized.
    pub internal: Internal,
    /// The authorizer, for the per-object checks of aggregated lists.
    pub security: Arc<Security>,
    /// The public login settings (`configs/oauth`).
    pub oauth: config::OAuthSettings,
    /// Which components are enabled (`configs/configz`).
    pub configz: config::Configz,
    /// `gpu.kinds` of the configuration (`configs/gpu/kinds`).
    pub gpu_kinds: Vec<config::GpuKind>,
    /// The collections kept in memory for the lists.
    pub catalog: Arc<catalog::Catalog>,
}

impl Kapis {
    /// The state over `app` with the default settings.
    pub fn new(app: Arc<App>, security: Arc<Security>) -> Self {
        Kapis {
            internal: Internal::new(Arc::clone(&app)),
            app,
            security,
            oauth: config::OAuthSettings::default(),
            configz: config::Configz::default(),
            gpu_kinds: Vec::new(),
            catalog: Arc::default(),
        }
    }

    /// One page of `group/version/plural` (in `namespace`, or all): the
    /// objects `keep` accepts that pass `query`, sorted and cut, each
    /// written by `render` (`None` writes its served JSON as it is), as
    /// a list body. Read from the [`catalog`] when it keeps the resource,
    /// else from the store (parsing only what the query reads, then the
    /// page).
    pub(crate) async fn page(
        &self,
        (group, version, plural): (&str, &str, &str),
        namespace: Option<&str>,
        query: &query::ListQuery,
        keep: impl FnMut(&&catalog::Entry) -> bool,
        render: Option<Render<'_>>,
    ) -> Result<Vec<u8>, ApiError> {
        let write = |entries: Vec<&catalog::Entry>, keep| {
            let listed = query.select(entries, keep);
            let items: Vec<Cow<'_, [u8]>> = (listed.items.iter())
                .map(|e| match render {
                    Some(render) => Cow::Owned(render(e)),
                    None => Cow::Borrowed(&e.raw()[..]),
                })
                .collect();
            catalog::list_body(items.iter().map(|i| &i[..]), listed.total_items)
        };
        if let Some(collection) = self.catalog.collection(group, version, plural) {
            return Ok(collection.with(|iter| {
                let entries: Vec<&catalog::Entry> = match namespace {
                    Some(ns) => iter
                        .filter(|e| query::ObjectView::namespace(*e) == ns)
                        .collect(),
                    None => iter.collect(),
                };
                write(entries, keep)
            }));
        }
        let stored = self
            .app
            .stored_objects(group, version, plural, namespace)
            .await?;
        let entries: Vec<catalog::Entry> = (stored.iter())
            .filter_map(|(def, kv)| catalog::Entry::from_stored(def, &kv.value))
            .collect();
        Ok(write(entries.iter().collect(), keep))
    }
}

/// Every /kapis route.
pub fn routes(kapis: Arc<Kapis>) -> Router {
    Router::new()
        .merge(version::routes())
        .merge(config::routes())
        .merge(tenant::routes())
        .merge(resources::routes())
        .merge(iam::routes())
        .merge(monitoring::routes())
        .merge(openapi::routes())
        .route("/kapis", axum::routing::any(not_served))
        .route("/kapis/{*rest}", axum::routing::any(not_served))
        .layer(axum::middleware::from_fn(plain_segments))
        .with_state(kapis)
}

/// Refuses a /kapis path with a percent-encoded character. Handlers put
/// path parameters into the paths of the requests they forward to the
/// embedded API as the server; an encoded `?`, `#` or space would make that
/// path mean something other than what the caller was authorized for.
/// Object names never need encoding (the request-info filter already
/// refuses encoded slashes and dot segments).
async fn plain_segments(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.uri().path().contains('%') {
        return status(ApiError::bad_request(
            "percent-encoded characters are not accepted in /kapis paths",
        ));
    }
    next.run(request).await
}

/// A path under `/kapis` that no route serves.
async fn not_served() -> Response {
    status(ApiError::no_route())
}

/// A list body as a 200 response, or the error as a `Status`.
pub(crate) fn listed(result: Result<Vec<u8>, ApiError>) -> Response {
    match result {
        Ok(body) => ok_bytes(body),
        Err(e) => status(e),
    }
}

/// A 200 response with a JSON body already encoded.
pub(crate) fn ok_bytes(body: Vec<u8>) -> Response {
    ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A 200 response with `body` as JSON.
pub(crate) fn ok(body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => ([(http::header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => status(ApiError::internal(format!("encoding the response: {e}"))),
    }
}

/// A 400 `Status` response.
pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    status(ApiError::bad_request(message))
}

/// The common list query of a route that takes `extra` filters besides
/// the common ones, or the 400 that names what is wrong.
pub(crate) fn list_query(raw: Option<&str>, extra: &[&str]) -> Result<query::ListQuery, Response> {
    query::ListQuery::parse(raw, extra).map_err(|e| bad_request(e.to_string()))
}

/// A request body that must be a JSON object, or the 400 that says why not.
pub(crate) fn json_object(body: &[u8]) -> Result<serde_json::Value, Response> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(bad_request("the body must be a JSON object")),
        Err(e) => Err(bad_request(format!("the body is not valid JSON: {e}"))),
    }
}

/// `metadata.name` of a JSON object (empty when absent).
pub(crate) fn name_of(object: &serde_json::Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

/// The JSON body of a successful response from the embedded API (for the
/// routes that rewrite what they forward), or the response as it is.
pub(crate) async fn success_body(response: Response) -> Result<serde_json::Value, Response> {
    use http_body_util::BodyExt as _;
    if !response.status().is_success() {
        return Err(response);
    }
    let bytes = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Err(status(ApiError::internal(e.to_string()))),
    };
    serde_json::from_slice(&bytes).map_err(|e| status(ApiError::internal(e.to_string())))
}

/// An error as a Kubernetes `Status` response.
pub(crate) fn status(error: ApiError) -> Response {
    error.into_response()
}
