//! The `ks-controller-manager` binary: flags, logging, signals, the client
//! configuration, the metrics endpoint, and the order of things under
//! leader election. The controllers and the election itself are in the
//! library.
//!
//! Exit statuses: 0 after SIGINT or SIGTERM, 1 when leadership was lost, 2
//! when it could not start as asked (flags, kubeconfig, metrics address).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Parser};
use ks_controller_manager::leader::{self, LeaderElection, LeaderElector, LeadershipLost};
use ks_controller_manager::{Controllers, Manager, Settings};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::watch;

mod endpoint;
mod flags;

/// How long the controllers get to finish the reconciles under way after
/// SIGINT or SIGTERM (controller-runtime's default graceful shutdown).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// KubeSphere's controllers, run against a Kubernetes API (a cluster with
/// KubeSphere's CRDs, or a ks-apiserver started with --no-controllers).
#[derive(Debug, Parser)]
#[command(name = "ks-controller-manager", version)]
struct Args {
    /// The kubeconfig to reach the API with. Default: the in-cluster
    /// configuration, else KUBECONFIG or ~/.kube/config.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Which controllers run, in KubeSphere's syntax: comma-separated `*`
    /// (every controller, the default), `name` (enable it), `-name`
    /// (disable it). Unknown names are an error.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    controllers: Vec<String>,
    /// How long a user stays AuthLimitExceeded after too many failed
    /// logins before the user controller makes it Active again (Go
    /// duration: 30m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = flags::parse_go_duration)]
    authenticate_rate_limiter_duration: Duration,
    /// How long login records are kept (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "168h", value_parser = flags::parse_go_duration)]
    login_history_retention_period: Duration,
    /// How many login records are kept per user.
    #[arg(long, value_name = "N", default_value_t = 100)]
    login_history_maximum_entries: usize,
    /// Elect a leader through the Lease
    /// kubesphere-system/ks-controller-manager-leader-election: only the
    /// leader runs the controllers (for replicated deployments).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", action = ArgAction::Set)]
    leader_elect: bool,
    /// How long others wait after the leader's last renewal before they
    /// take over (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = flags::parse_go_duration)]
    leader_elect_lease_duration: Duration,
    /// How long the leader retries a failed renewal before it gives up
    /// leadership and exits (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = flags::parse_go_duration)]
    leader_elect_renew_deadline: Duration,
    /// Time between attempts to acquire or renew the lease (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = flags::parse_go_duration)]
    leader_elect_retry_period: Duration,
    /// Where to serve GET /metrics and GET /healthz: IP:PORT, :PORT (every
    /// address), or 0 to disable.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = flags::parse_bind_address)]
    metrics_bind_address: flags::BindAddress,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ks-controller-manager: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

/// A startup failure: the message on stderr, exit status 2.
fn refuse(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("ks-controller-manager: {message}");
    ExitCode::from(2)
}

async fn run(args: Args) -> ExitCode {
    let selected = if args.controllers.is_empty() {
        Controllers::default()
    } else {
        match Controllers::parse(&args.controllers) {
            Ok(selected) => selected,
            Err(e) => return refuse(e),
        }
    };
    let settings = Settings {
        authenticate_rate_limiter_duration: args.authenticate_rate_limiter_duration,
        login_history_maximum_entries: args.login_history_maximum_entries,
        login_history_retention_period: args.login_history_retention_period,
    };
    let election = if args.leader_elect {
        let election = LeaderElection {
            lease_duration: args.leader_elect_lease_duration,
            renew_deadline: args.leader_elect_renew_deadline,
            retry_period: args.leader_elect_retry_period,
            ..LeaderElection::new(
                leader::LEASE_NAMESPACE,
                leader::LEASE_NAME,
                leader::new_identity(&hostname()),
            )
        };
        if let Err(e) = election.validate() {
            return refuse(format!(
                "{e} (--leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period)"
            ));
        }
        Some(election)
    } else {
        None
    };
    let (config, source) = match client_config(args.kubeconfig.as_deref()).await {
        Ok(found) => found,
        Err(e) => return refuse(e),
    };
    tracing::info!(config = %source, server = %config.cluster_url, "client configuration");
    let client = match kube::Client::try_from(config) {
        Ok(client) => client,
        Err(e) => return refuse(format!("building the client from the {source}: {e}")),
    };
    tracing::info!(controllers = %selected, ?settings, leader_elect = election.is_some(), "ks-controller-manager starting");
    let manager = Manager::new(client.clone(), selected, settings);
    let leading = election.as_ref().map(|_| Gauge::default());
    if let flags::BindAddress(Some(addr)) = args.metrics_bind_address {
        let registry = endpoint::registry(&manager.metrics(), leading.as_ref());
        let endpoint = match endpoint::MetricsEndpoint::bind(addr, registry).await {
            Ok(endpoint) => endpoint,
            Err(e) => return refuse(format!("--metrics-bind-address {addr}: {e}")),
        };
        match endpoint.local_addr() {
            Ok(bound) => tracing::info!(address = %bound, "serving /metrics and /healthz"),
            Err(e) => return refuse(format!("--metrics-bind-address {addr}: {e}")),
        }
        tokio::spawn(async move {
            if let Err(e) = endpoint.serve().await {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    let stop = watch_signals();
    match (election, leading) {
        (Some(election), Some(leading)) => lead(client, election, manager, stop, leading).await,
        _ => {
            run_until_stopped(manager, stop).await;
            ExitCode::SUCCESS
        }
    }
}

/// The client configuration and where it came from: `--kubeconfig`, else
/// the in-cluster configuration, else kube-rs' inference (KUBECONFIG or
/// ~/.kube/config).
async fn client_config(kubeconfig: Option<&Path>) -> Result<(kube::Config, String), String> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    if let Some(path) = kubeconfig {
        let loaded = Kubeconfig::read_from(path)
            .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?;
        let config = kube::Config::from_custom_kubeconfig(loaded, &KubeConfigOptions::default())
            .await
            .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?;
        return Ok((config, format!("kubeconfig {}", path.display())));
    }
    if let Ok(config) = kube::Config::incluster() {
        return Ok((config, "in-cluster configuration".to_owned()));
    }
    // Its error names both the in-cluster and the kubeconfig failure.
    match kube::Config::infer().await {
        Ok(config) => Ok((
            config,
            "default kubeconfig (KUBECONFIG or ~/.kube/config)".to_owned(),
        )),
        Err(e) => Err(format!("no --kubeconfig given: {e}")),
    }
}

/// The host name, for the leader-election identity (client-go uses
/// `os.Hostname()`; in a pod it is the pod's name).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Becomes true at the first SIGINT or SIGTERM; a second one exits at once.
fn watch_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        ks_controller_manager::shutdown_signal().await;
        tracing::info!("stopping (a second signal exits at once)");
        let _ = tx.send(true);
        ks_controller_manager::shutdown_signal().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(1);
    });
    rx
}

/// Completes once `stop` turns true.
async fn stopped(mut stop: watch::Receiver<bool>) {
    // The sender lives as long as the process: no error to handle.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Without leader election: the controllers run until a signal, then get
/// [`SHUTDOWN_GRACE`] to finish.
async fn run_until_stopped(manager: Manager, stop: watch::Receiver<bool>) {
    let controllers = tokio::spawn(manager.run(stopped(stop.clone())));
    stopped(stop).await;
    finish(controllers).await;
}

/// Waits up to [`SHUTDOWN_GRACE`] for the controllers to finish.
async fn finish(mut controllers: tokio::task::JoinHandle<()>) {
    if tokio::time::timeout(SHUTDOWN_GRACE, &mut controllers)
        .await
        .is_err()
    {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "controllers did not finish in time");
        controllers.abort();
    }
}

/// With leader election: wait for the lease, run the controllers while
/// holding it, and on a signal let them finish before releasing it.
async fn lead(
    client: kube::Client,
    election: LeaderElection,
    manager: Manager,
    stop: watch::Receiver<bool>,
    leading: Gauge,
) -> ExitCode {
    let lease = format!("{}/{}", election.namespace, election.name);
    let mut elector = match LeaderElector::new(client, election) {
        Ok(elector) => elector,
        Err(e) => return refuse(e),
    };
    tracing::info!(identity = %elector.identity(), %lease, "leader election: waiting to lead");
    tokio::select! {
        () = elector.acquire() => {}
        () = stopped(stop.clone()) => {
            // An attempt cut short may have taken the lease.
            release(&mut elector).await;
            return ExitCode::SUCCESS;
        }
    }
    leading.set(1);
    let (halt, halted) = watch::channel(false);
    let controllers = tokio::spawn(manager.run(stopped(halted)));
    let outcome = {
        let hold = elector.hold();
        tokio::pin!(hold);
        tokio::select! {
            lost = &mut hold => Err(lost),
            () = stopped(stop) => {
                // Keep renewing while the reconciles under way finish.
                let _ = halt.send(true);
                tokio::select! {
                    lost = &mut hold => Err(lost),
                    () = finish(controllers) => Ok(()),
                }
            }
        }
    };
    leading.set(0);
    match outcome {
        Ok(()) => {
            release(&mut elector).await;
            ExitCode::SUCCESS
        }
        Err(lost) => lost_leadership(&lost, &halt),
    }
}

/// Leadership is gone: another process may lead already, so the
/// controllers stop without a grace period (controller-runtime does the
/// same) and the process exits 1.
fn lost_leadership(lost: &LeadershipLost, halt: &watch::Sender<bool>) -> ExitCode {
    let _ = halt.send(true);
    tracing::error!(reason = %lost, "leadership lost: exiting");
    ExitCode::FAILURE
}

async fn release(elector: &mut LeaderElector) {
    match elector.release().await {
        Ok(true) => {}
        Ok(false) => tracing::debug!("not leading: nothing to release"),
        Err(e) => {
            tracing::warn!(error = %e, "releasing the lease failed; others wait for it to expire")
        }
    }
}
