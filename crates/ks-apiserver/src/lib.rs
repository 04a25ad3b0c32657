//! ks-apiserver: KubeSphere's API server.
//!
//! It composes the parts: the embedded Kubernetes-compatible API
//! ([`ks_kube_api`]) over a durable store (ks-store), KubeSphere's own
//! admission plugins ([`admission`]), the bootstrap content (KubeSphere's
//! CRDs, namespaces and built-in roles), TLS with a generated CA, and the
//! kubeconfig kubectl uses. The filter chain (authentication,
//! authorization, audit) and KubeSphere's APIs under `/kapis` come next,
//! in front of the same router.
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
//! `bootstrap` creates what a new server needs.

// `ApiError` (a Kubernetes Status) is returned on the cold path only.
#![allow(clippy::result_large_err)]

pub mod admission;
pub mod authn;
pub mod authz;
mod bootstrap;
pub mod context;
pub mod filters;
#[doc(hidden)]
pub mod fuzzing;
pub mod informer;
pub mod internal;
pub mod oauth;
pub mod server;
pub mod tls;

use std::sync::Arc;

pub use ks_kube_api::{self as kube_api, ApiError, App};
pub use server::{Config, RunningServer, StartError, default_data_dir, start};

/// The shared state of a KubeSphere server over `store`: the built-in
/// kinds, and Kubernetes' admission chain followed by KubeSphere's
/// plugins.
pub fn app(store: Arc<dyn ks_store::Storage>) -> Arc<App> {
    App::builder(store)
        .admission_plugin(Arc::new(admission::KubeSphereTypes))
        .build()
}

/// The HTTP router of a KubeSphere server.
pub fn router(app: Arc<App>) -> axum::Router {
    ks_kube_api::router(app)
}
