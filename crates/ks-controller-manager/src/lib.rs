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
//! - [`user`], [`workspacetemplate`], [`workspace`], [`workspacerole`]
//!   (`workspacerole` and `workspacerolebinding`), [`namespace`],
//!   [`loginrecord`], [`globalrolebinding`], [`groupbinding`], [`group`]:
//!   the controllers, each documenting KubeSphere's semantics and where
//!   ks-rs deliberately differs;
//! - [`metrics`]: reconcile counts, errors, durations ([`Metrics`]);
//! - [`backoff`]: per-object exponential backoff;
//! - [`leader`]: leader election over a Lease, for replicated deployments.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::time::Duration;

use futures_util::future::{BoxFuture, Shared};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt as _, StreamExt as _};

pub mod backoff;
mod error;
pub mod globalrolebinding;
pub mod group;
pub mod groupbinding;
pub mod leader;
pub mod loginrecord;
pub mod metrics;
pub mod namespace;
mod runtime;
pub mod selection;
pub mod user;
pub mod workspace;
pub mod workspacerole;
pub mod workspacetemplate;

pub use error::Error;
pub use metrics::Metrics;
pub use selection::{ALL_CONTROLLERS, Controllers, IMPLEMENTED_CONTROLLERS};

/// The controllers' configuration (KubeSphere's `authentication` options
/// that the controllers read, and the like).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How long a user stays `AuthLimitExceeded` before the `user`
    /// controller makes it `Active` again (KubeSphere's
    /// `authenticateRateLimiterDuration`, default 30 minutes).
    pub authenticate_rate_limiter_duration: Duration,
    /// Login records kept per user (KubeSphere's
    /// `loginHistoryMaximumEntries`, default 100).
    pub login_history_maximum_entries: usize,
    /// How long login records are kept (KubeSphere's
    /// `loginHistoryRetentionPeriod`, default 168h).
    pub login_history_retention_period: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            authenticate_rate_limiter_duration: Duration::from_secs(30 * 60),
            login_history_maximum_entries: 100,
            login_history_retention_period: Duration::from_secs(168 * 3600),
        }
    }
}

/// The future that stops the controllers, shared by all of them.
pub(crate) type Shutdown = Shared<BoxFuture<'static, ()>>;

/// Triggers of a full resync, one stream per controller.
pub(crate) type ResyncStream = BoxStream<'static, ()>;

/// What a controller is started with.
pub(crate) struct Start {
    pub(crate) client: kube::Client,
    pub(crate) settings: Settings,
    pub(crate) metrics: Metrics,
    pub(crate) resync: ResyncStream,
    pub(crate) shutdown: Shutdown,
}

impl Start {
    /// Runs `controller` with `reconciler` under the shared loop
    /// ([`runtime::drive`]) until shutdown.
    pub(crate) fn drive<R: runtime::Reconciler>(
        self,
        controller: kube::runtime::Controller<R::Object>,
        reconciler: R,
    ) -> BoxFuture<'static, ()> {
        async move {
            runtime::drive(
                controller,
                reconciler,
                &self.metrics,
                self.resync,
                self.shutdown,
            )
            .await;
        }
        .boxed()
    }
}

/// A set of controllers sharing a client, settings, metrics and a resync
/// trigger.
pub struct Manager {
    client: kube::Client,
    selected: Controllers,
    settings: Settings,
    metrics: Metrics,
    resync: tokio::sync::broadcast::Sender<()>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("selected", &self.selected)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Asks every controller of a [`Manager`] to reconcile all its objects
/// again (what an informer's resync period does). Cloning shares it.
#[derive(Clone, Debug)]
pub struct Resync(tokio::sync::broadcast::Sender<()>);

impl Resync {
    /// Triggers one full resync of every running controller.
    pub fn trigger(&self) {
        // No receiver means no controller is running: nothing to resync.
        let _ = self.0.send(());
    }
}

impl Manager {
    /// The `selected` controllers, acting through `client`.
    pub fn new(client: kube::Client, selected: Controllers, settings: Settings) -> Self {
        let (resync, _) = tokio::sync::broadcast::channel(16);
        Manager {
            client,
            selected,
            settings,
            metrics: Metrics::new(),
            resync,
        }
    }

    /// Records into `metrics` instead of fresh ones (so that a restarted
    /// manager keeps counting where the previous one stopped).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The controllers' metrics (shared with the running controllers).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// A handle that triggers full resyncs.
    pub fn resync(&self) -> Resync {
        Resync(self.resync.clone())
    }

    /// Runs every selected, implemented controller until `shutdown`
    /// completes, then lets the reconciles under way finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let shutdown: Shutdown = shutdown.boxed().shared();
        let mut running = Vec::new();
        for name in self.selected.enabled_implemented() {
            tracing::info!(controller = name, "starting");
            let start = Start {
                client: self.client.clone(),
                settings: self.settings.clone(),
                metrics: self.metrics.clone(),
                resync: resync_stream(self.resync.subscribe()),
                shutdown: shutdown.clone(),
            };
            let controller = match name {
                user::NAME => user::start(start),
                workspacetemplate::NAME => workspacetemplate::start(start),
                workspace::NAME => workspace::start(start),
                workspacerole::WORKSPACE_ROLE => {
                    workspacerole::start::<ks_types::iam::WorkspaceRole>(start)
                }
                workspacerole::WORKSPACE_ROLE_BINDING => {
                    workspacerole::start::<ks_types::iam::WorkspaceRoleBinding>(start)
                }
                namespace::NAME => namespace::start(start),
                globalrolebinding::NAME => globalrolebinding::start(start),
                loginrecord::NAME => loginrecord::start(start),
                groupbinding::NAME => groupbinding::start(start),
                group::NAME => group::start(start),
                other => {
                    tracing::error!(controller = other, "listed as implemented but not wired");
                    continue;
                }
            };
            running.push(controller);
        }
        futures_util::future::join_all(running).await;
    }
}

/// Completes on the first SIGINT or SIGTERM (on other platforms, Ctrl-C):
/// when a binary running controllers should stop.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn resync_stream(rx: tokio::sync::broadcast::Receiver<()>) -> ResyncStream {
    futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            // Resyncs missed while busy collapse into one.
            Ok(()) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Some(((), rx)),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
        }
    })
    .boxed()
}

/// Runs the `selected` controllers through `client` until `shutdown`
/// completes ([`Manager::run`] without the handles).
pub async fn run(
    client: kube::Client,
    selected: &Controllers,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    Manager::new(client, selected.clone(), settings.clone())
        .run(shutdown)
        .await;
}
