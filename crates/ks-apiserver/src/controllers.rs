//! The controllers of `ks-controller-manager`, run in-process against this
//! server.
//!
//! They reach the API through [`in_process_client`]: a `kube::Client` whose
//! transport is the server's own router, with no socket in between. Every
//! request goes through the whole filter chain (authentication, audit,
//! RBAC, admission) as the user [`IDENTITY`], presented the way a client
//! certificate would present it, so what the controllers may do is exactly
//! what the bootstrap ClusterRole `system:ks-controller-manager` grants.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use ks_controller_manager::{Controllers, Manager, Metrics, Resync, Settings};
use tokio::task::JoinHandle;

use crate::context::{CertificateIdentity, Connection};

/// The user the in-process controllers act as (KubeSphere's
/// controller-manager identity).
pub const IDENTITY: &str = "system:ks-controller-manager";

/// A `kube::Client` that sends every request through `router` as `user`.
pub fn in_process_client(router: Router, user: &str) -> kube::Client {
    let connection = Connection {
        peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        client_certificate: Some(Arc::new(CertificateIdentity {
            user: user.to_owned(),
            groups: Vec::new(),
        })),
    };
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let router = router.clone();
        let connection = connection.clone();
        async move {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(connection);
            Ok::<_, Infallible>(
                tower::ServiceExt::oneshot(router, request)
                    .await
                    .unwrap_or_else(|never| match never {}),
            )
        }
    });
    kube::Client::new(service, "default")
}

/// Controllers running in the server.
pub struct RunningControllers {
    client: kube::Client,
    selected: Controllers,
    settings: Settings,
    metrics: Metrics,
    resync: Resync,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningControllers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningControllers").finish_non_exhaustive()
    }
}

/// Runs `manager` on a task until the returned sender fires (or drops).
fn spawn(manager: Manager) -> (tokio::sync::oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(manager.run(async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

impl RunningControllers {
    /// Starts the `selected` controllers against `router`.
    pub fn start(router: Router, selected: Controllers, settings: Settings) -> Self {
        let client = in_process_client(router, IDENTITY);
        let manager = Manager::new(client.clone(), selected.clone(), settings.clone());
        let metrics = manager.metrics();
        let resync = manager.resync();
        let (stop, task) = spawn(manager);
        RunningControllers {
            client,
            selected,
            settings,
            metrics,
            resync,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops them (as [`RunningControllers::stop`]) and starts them again
    /// from scratch, with empty caches and queues, as a restarted process
    /// would; the metrics keep counting.
    pub async fn restart(&mut self, grace: Duration) {
        self.stop(grace).await;
        let manager = Manager::new(
            self.client.clone(),
            self.selected.clone(),
            self.settings.clone(),
        )
        .with_metrics(self.metrics.clone());
        self.resync = manager.resync();
        let (stop, task) = spawn(manager);
        self.stop = Some(stop);
        self.task = Some(task);
    }

    /// Their metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A handle that makes every controller reconcile all its objects again.
    pub fn resync(&self) -> Resync {
        self.resync.clone()
    }

    /// Stops them, letting reconciles under way finish (up to `grace`).
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            tracing::warn!("controllers did not stop within the grace period");
            task.abort();
        }
    }
}
