//! ks-apiserver: a Kubernetes-compatible API server over an embedded,
//! durable store.
//!
//! kubectl, kube-rs and client-go work against it unchanged: it serves
//! discovery, OpenAPI v3, and get, list (paged, with selectors and
//! server-side printed tables), watch (with bookmarks and 410 Expired),
//! create, update with optimistic concurrency, JSON, merge and strategic
//! merge patch, delete with finalizers and garbage collection, and
//! deletecollection, for the core and RBAC kinds it compiles in and for
//! every CustomResourceDefinition stored in it (KubeSphere's own kinds are
//! served that way, from the CRDs bootstrap installs).
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
//! Layout: [`server`] runs the listener and the store; `api` answers
//! requests (parsed with ks-request-info); `admission` decodes, defaults
//! and validates objects per kind; [`resources`] is the registry of served
//! resources, fed by [`crd`]; `gc` completes deletions (owner
//! references, finalizers, namespaces); [`patch`] implements the patch
//! formats; `openapi` builds the OpenAPI documents.

// `ApiError` (a Kubernetes Status) is returned on the cold path only; its
// size does not matter there, and boxing it would clutter every handler.
#![allow(clippy::result_large_err)]

mod admission;
pub mod api;
pub mod app;
mod bootstrap;
pub mod crd;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod gc;
pub mod object;
mod openapi;
pub mod patch;
mod protobuf;
pub mod resources;
mod schema;
pub mod server;
pub mod tls;

use std::sync::Arc;

pub use app::App;
pub use error::ApiError;
pub use server::{Config, RunningServer, StartError, default_data_dir, start};

/// The HTTP router: every request goes through one handler that parses
/// the path with ks-request-info and dispatches.
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(api::handle).with_state(app)
}
