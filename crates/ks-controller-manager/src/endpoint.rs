//! The binary's HTTP endpoint (part of the `ks-controller-manager` binary,
//! not of the library): `GET /metrics` in Prometheus' text format and
//! `GET /healthz`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use ks_controller_manager::Metrics;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The `name` label of `leader_election_master_status`.
pub(crate) const ELECTION_NAME: &str = "ks-controller-manager";

/// What `/metrics` shows: the controllers' metrics, and with leader
/// election client-go's `leader_election_master_status{name}` (1 while
/// this process leads).
pub(crate) fn registry(metrics: &Metrics, leader: Option<&Gauge>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(metrics.clone()));
    if let Some(leader) = leader {
        registry
            .sub_registry_with_label(("name".into(), ELECTION_NAME.into()))
            .register(
                "leader_election_master_status",
                "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease",
                leader.clone(),
            );
    }
    registry
}

/// A bound, not yet serving, endpoint.
pub(crate) struct MetricsEndpoint {
    listener: tokio::net::TcpListener,
    registry: Arc<Registry>,
}

impl MetricsEndpoint {
    /// Binds `addr` (port 0: any free port).
    pub(crate) async fn bind(addr: SocketAddr, registry: Registry) -> std::io::Result<Self> {
        Ok(MetricsEndpoint {
            listener: tokio::net::TcpListener::bind(addr).await?,
            registry: Arc::new(registry),
        })
    }

    /// The address bound.
    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends.
    pub(crate) async fn serve(self) -> std::io::Result<()> {
        let router = Router::new()
            .route("/metrics", get(render))
            .route("/healthz", get(|| async { "ok" }))
            .with_state(self.registry);
        axum::serve(self.listener, router).await
    }
}

async fn render(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    let mut out = String::new();
    match prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            out,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "encoding the metrics failed\n".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_registry_holds_the_controllers_and_the_leader_gauge() {
        let leader = Gauge::default();
        let registry = registry(&Metrics::new(), Some(&leader));
        let text = |r: &Registry| {
            let mut out = String::new();
            prometheus_client::encoding::prometheus_text::encode(&mut out, r).unwrap();
            out
        };
        let out = text(&registry);
        assert!(
            out.contains("leader_election_master_status{name=\"ks-controller-manager\"} 0"),
            "{out}"
        );
        assert!(
            out.contains("# TYPE controller_runtime_reconcile_total counter"),
            "{out}"
        );
        leader.set(1);
        assert!(
            text(&registry)
                .contains("leader_election_master_status{name=\"ks-controller-manager\"} 1")
        );
        let without = text(&super::registry(&Metrics::new(), None));
        assert!(!without.contains("leader_election"), "{without}");
    }
}
