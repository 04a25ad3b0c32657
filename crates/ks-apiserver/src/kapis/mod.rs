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
//! - [`config`]: `config.kubesphere.io/v1alpha2` `configs/oauth` and
//!   `configs/configz` (public, never secrets);
//! - [`tenant`]: `tenant.kubesphere.io` workspaces, namespaces and
//!   clusters, filtered to what the caller may see;
//! - [`iam`]: `iam.kubesphere.io/v1alpha2` users;
//! - [`resources`]: `resources.kubesphere.io/v1alpha3`, any served
//!   resource, paged, sorted and filtered, no more than `/apis` shows;
//! - [`query`]: the common list query every list route takes.
//!
//! Errors are Kubernetes `Status` objects; a path under `/kapis` that no
//! route serves is a 404 `Status`.

pub mod config;
pub mod iam;
pub mod query;
pub mod resources;
pub mod tenant;
pub mod version;

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use ks_kube_api::{ApiError, App};

use crate::filters::Security;
use crate::internal::Internal;

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
        }
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
        .route("/kapis", axum::routing::any(not_served))
        .route("/kapis/{*rest}", axum::routing::any(not_served))
        .with_state(kapis)
}

/// A path under `/kapis` that no route serves.
async fn not_served() -> Response {
    status(ApiError::no_route())
}

/// A 200 response with `body` as JSON.
pub(crate) fn ok(body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => ([(http::header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => status(ApiError::internal(format!("encoding the response: {e}"))),
    }
}

/// An error as a Kubernetes `Status` response.
pub(crate) fn status(error: ApiError) -> Response {
    error.into_response()
}
