//! KubeSphere's controllers on the kube-rs runtime.
//!
//! Each controller watches KubeSphere objects through the Kubernetes API and
//! drives them to the state KubeSphere v3.4's controller would: level
//! triggered, idempotent (a reconcile of a settled object writes nothing),
//! every error retried with exponential backoff. They speak only the
//! Kubernetes API, so they run unchanged in-process against ks-apiserver or
//! standalone against any cluster with KubeSphere's CRDs.
//!
//! Which controllers run is KubeSphere's `--controllers` list:
//!
//! ```
//! use ks_controller_manager::Controllers;
//!
//! let selected: Controllers = "*,-workspace".parse().unwrap();
//! assert!(selected.is_enabled("user"));
//! assert!(!selected.is_enabled("workspace"));
//! ```
//!
//! Running them (against a server reachable through `client`):
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> Result<(), ks_controller_manager::Error> {
//! use ks_controller_manager::{Controllers, Settings};
//!
//! let selected = Controllers::parse(["*"])?;
//! ks_controller_manager::run(client, &selected, &Settings::default(), std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! Modules:
//! - [`selection`]: the `--controllers` list ([`Controllers`]);
//! - [`user`]: the `user` controller ([`UserController`]);
//! - [`backoff`]: per-object exponential backoff;
//! - [`stats`]: reconcile counters.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt as _;

pub mod backoff;
mod error;
pub mod selection;
pub mod stats;
pub mod user;

pub use error::Error;
pub use selection::{ALL_CONTROLLERS, Controllers, IMPLEMENTED_CONTROLLERS};
pub use stats::ReconcileStats;
pub use user::UserController;

/// The controllers' configuration (KubeSphere's `authentication` options
/// that the controllers read, and the like).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How long a user stays `AuthLimitExceeded` before the `user`
    /// controller makes it `Active` again (KubeSphere's
    /// `authenticateRateLimiterDuration`, default 30 minutes).
    pub authenticate_rate_limiter_duration: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            authenticate_rate_limiter_duration: Duration::from_secs(30 * 60),
        }
    }
}

/// Runs every selected, implemented controller through `client` until
/// `shutdown` completes.
pub async fn run(
    client: kube::Client,
    selected: &Controllers,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let shutdown = shutdown.boxed().shared();
    let mut running = Vec::new();
    for name in selected.enabled_implemented() {
        tracing::info!(controller = name, "starting");
        if name == user::NAME {
            running.push(
                UserController::new(client.clone(), settings)
                    .run(futures_util::stream::pending(), shutdown.clone())
                    .boxed(),
            );
        }
    }
    futures_util::future::join_all(running).await;
}
