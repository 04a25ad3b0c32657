//! ks-kube-api: a Kubernetes-compatible API over ks-store.
//!
//! kubectl, kube-rs and client-go work against it unchanged: it serves
//! discovery, OpenAPI v3 and v2, and get, list (paged, with selectors and
//! server-side printed tables), watch (with bookmarks and 410 Expired),
//! create, update with optimistic concurrency, JSON, merge and strategic
//! merge patch, delete with finalizers and garbage collection, and
//! deletecollection, for the kinds it compiles in and for every
//! CustomResourceDefinition stored in it.
//!
//! The crate knows nothing of authentication or of KubeSphere's own APIs:
//! it is an axum [`Router`](axum::Router) that the KubeSphere server
//! (ks-apiserver) puts behind its filters. The caller's identity arrives
//! as a [`UserInfo`] request extension and reaches admission.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ks_kube_api::App;
//!
//! let store = ks_store::Store::in_memory(Default::default());
//! let app = App::new(Arc::new(store.clone()));
//! let router = ks_kube_api::router(Arc::clone(&app));
//! // Serve `router` with axum or hyper, or call it as a tower Service.
//! # drop(router);
//! store.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout, after kube-apiserver's: [`kinds`] holds one [`Strategy`] per
//! built-in kind (its defaults, validation, table columns, patch strategy
//! and wire forms) and the generic one for custom resources; [`admission`]
//! is the ordered chain of mutating then validating plugins every write
//! passes; [`resources`] is the registry of served resources, fed by the
//! kinds and by [`crd`]; `api` answers requests (parsed with
//! ks-request-info) without a per-kind branch; [`selectable`] says what a
//! field selector may name on each resource and reads it from stored
//! objects; `gc` completes deletions
//! (owner references, finalizers, namespaces); [`patch`] implements the
//! patch formats; `openapi` builds the OpenAPI documents.

// `ApiError` (a Kubernetes Status) is returned on the cold path only; its
// size does not matter there, and boxing it would clutter every handler.
#![allow(clippy::result_large_err)]

pub mod admission;
pub mod api;
pub mod app;
pub mod crd;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod gc;
pub mod kinds;
pub mod object;
mod openapi;
pub mod patch;
mod protobuf;
pub mod resources;
mod schema;
pub mod selectable;
pub mod table;
pub mod user;

use std::sync::Arc;

pub use admission::{AdmissionChain, AdmissionPlugin, AdmissionRequest, Operation};
pub use app::App;
pub use error::ApiError;
pub use kinds::Strategy;
pub use user::UserInfo;

/// The HTTP router: every request goes through one handler that parses
/// the path with ks-request-info and dispatches.
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(api::handle).with_state(app)
}

/// Starts the background controllers that complete deletions (garbage
/// collection by owner references, namespace content, CRD cleanup). They
/// stop when [`App::begin_shutdown`] is called.
pub fn spawn_controllers(app: Arc<App>) -> Vec<tokio::task::JoinHandle<()>> {
    gc::spawn(app)
}
