//! ks-apiserver: KubeSphere's API server.
//!
//! It composes the parts: the embedded Kubernetes-compatible API
//! ([`ks_kube_api`]) over a durable store (ks-store), KubeSphere's own
//! admission plugins ([`admission`]), the bootstrap content (KubeSphere's
//! CRDs, namespaces, built-in roles and the bootstrap admin), TLS with a
//! generated CA, the kubeconfig kubectl uses, and in front of it all the
//! filter chain ([`filters`]: request info, [`authn`], impersonation,
//! [`authz`], [`audit`], [`metrics`]) with KubeSphere's OAuth endpoints
//! ([`oauth`]) and KubeSphere's own APIs under `/kapis` ([`kapis`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ks_apiserver::StartError> {
//! let mut config = ks_apiserver::Config::new("/tmp/ks-data");
//! config.in_memory = true;
//! let server = ks_apiserver::start(config).await?;
//! println!("kubectl --kubeconfig {} get ns", server.kubeconfig.as_ref().unwrap().display());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout: [`server`] runs the listener, the store and the controllers;
//! [`tls`] makes the certificates and the kubeconfig; [`admission`] holds
//! the plugins KubeSphere adds to the Kubernetes admission chain;
//! `bootstrap` creates what a new server needs; [`secrets`] keeps the
//! generated token key and admin password; [`informer`] keeps in-memory
//! views of the store current; [`internal`] is the server's own client of
//! its API.

// `ApiError` (a Kubernetes Status) is returned on the cold path only.
#![allow(clippy::result_large_err)]

pub mod admission;
pub mod audit;
pub mod authn;
pub mod authz;
mod bootstrap;
pub mod context;
pub mod controllers;
pub mod escalation;
pub mod filters;
#[doc(hidden)]
pub mod fuzzing;
pub mod informer;
pub mod internal;
pub mod kapis;
pub mod metrics;
pub mod oauth;
pub mod options;
pub mod secrets;
pub mod server;
pub mod tls;

use std::sync::Arc;

pub use ks_kube_api::{self as kube_api, ApiError, App};
pub use server::{Config, RunningServer, StartError, default_data_dir, start};

/// The shared state of a KubeSphere server over `store`: the built-in
/// kinds, and Kubernetes' admission chain followed by KubeSphere's
/// plugins (password hashing, type checks; no token revocation and no
/// escalation check, which need the server's revocations and authorizer).
pub fn app(store: Arc<dyn ks_store::Storage>) -> Arc<App> {
    app_with(store, None, None)
}

/// [`app`], with the token revocations password changes update and,
/// given the authorizer, the escalation check on role and binding writes.
pub fn app_with(
    store: Arc<dyn ks_store::Storage>,
    revocations: Option<Arc<authn::users::Revocations>>,
    rbac: Option<Arc<authz::Rbac>>,
) -> Arc<App> {
    let mut builder = App::builder(store)
        .admission_plugin(Arc::new(admission::UserPasswords::new(revocations)))
        .admission_plugin(Arc::new(admission::KubeSphereTypes));
    if let Some(rbac) = rbac {
        builder = builder.admission_plugin(Arc::new(escalation::EscalationCheck::new(rbac)));
    }
    builder.build()
}

/// The embedded Kubernetes API alone, with no authentication in front
/// (for in-process use and tests).
pub fn router(app: Arc<App>) -> axum::Router {
    ks_kube_api::router(app)
}

/// The whole server: the filter chain ([`filters`]) with audit and
/// metrics in front of `/oauth`, `/kapis`, `/metrics` and the embedded
/// Kubernetes API.
pub fn secured_router(
    app: Arc<App>,
    security: Arc<filters::Security>,
    oauth: Arc<oauth::OAuth>,
    kapis: Arc<kapis::Kapis>,
    auditor: audit::Auditor,
    metrics: &metrics::Metrics,
) -> axum::Router {
    use axum::middleware::from_fn_with_state;
    // Layers wrap what is already there: the last added runs first.
    oauth::routes(oauth)
        .merge(kapis::routes(kapis))
        .route("/metrics", metrics.handler())
        .fallback_service(ks_kube_api::router(app))
        .layer(from_fn_with_state(
            Arc::clone(&security),
            filters::authorize,
        ))
        .layer(from_fn_with_state(
            Arc::clone(&security),
            filters::impersonate,
        ))
        .layer(from_fn_with_state(
            Arc::clone(&security),
            filters::authenticate,
        ))
        .layer(metrics.layer())
        .layer(audit::AuditLayer::new(auditor))
        .layer(from_fn_with_state(security, filters::request_info))
}
