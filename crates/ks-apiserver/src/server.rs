//! Running the server: configuration, the store, bootstrap, the listener
//! (HTTPS with a generated certificate, or plain HTTP when asked), the
//! background controllers, and graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use ks_store::{Storage, Store, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use ks_kube_api::App;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the store, certificates and kubeconfig live.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Keep objects in memory only (nothing survives a restart).
    pub in_memory: bool,
    /// Serve plain HTTP instead of HTTPS.
    pub plain_http: bool,
    /// Allow a non-loopback listen address although nothing authenticates
    /// requests yet.
    pub allow_unauthenticated_remote: bool,
    /// Store tuning (compaction window and interval, history size).
    pub store: StoreConfig,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Config {
    /// Defaults for a data directory: `127.0.0.1:6443`, durable, HTTPS.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 6443)),
            in_memory: false,
            plain_http: false,
            allow_unauthenticated_remote: false,
            store: StoreConfig::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The default data directory: `$XDG_DATA_HOME/ks-rs` (or the platform's
/// equivalent), falling back to `./ks-rs-data`.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .map(|d| d.join("ks-rs"))
        .unwrap_or_else(|| PathBuf::from("ks-rs-data"))
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A refused configuration.
    #[error("{0}")]
    Config(String),
    /// The data directory could not be created or used.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] ks_store::StoreError),
    /// Certificates or kubeconfig.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Binding the listen address.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Bootstrap failed.
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

/// A started server.
pub struct RunningServer {
    /// The shared state (for in-process use and tests).
    pub app: Arc<App>,
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    /// The base URL clients use, e.g. `https://127.0.0.1:6443`.
    pub url: String,
    /// The kubeconfig written for this server.
    pub kubeconfig: Option<PathBuf>,
    /// The CA certificate (PEM) clients trust, for HTTPS.
    pub ca_pem: Option<String>,
    store: Option<Store>,
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
    controllers: Vec<JoinHandle<()>>,
    grace: Duration,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("url", &self.url)
            .finish()
    }
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Opens the store, bootstraps it, binds the listener and starts serving.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    if !is_loopback(&config.listen) && !config.allow_unauthenticated_remote {
        return Err(StartError::Config(format!(
            "refusing to listen on {}: this server does not authenticate requests yet, so anyone who can reach it would have full access. Listen on a loopback address, or pass --allow-unauthenticated-remote if you accept that",
            config.listen
        )));
    }
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|source| StartError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    let store = if config.in_memory {
        Store::in_memory(config.store.clone())
    } else {
        Store::open(&data_dir.join("store.db"), config.store.clone())?
    };
    let storage: Arc<dyn Storage> = Arc::new(store.clone());
    let app = crate::app(storage);
    crate::bootstrap::bootstrap(&app)
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?;

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let host = if local_addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local_addr.ip().to_string()
    };
    let host_in_url = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };

    let (tls, url) = if config.plain_http {
        (None, format!("http://{host_in_url}:{}", local_addr.port()))
    } else {
        let material =
            crate::tls::load_or_create(&data_dir.join("pki"), std::slice::from_ref(&host))?;
        (
            Some(material),
            format!("https://{host_in_url}:{}", local_addr.port()),
        )
    };
    let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
    let kubeconfig = data_dir.join("kubeconfig");
    crate::tls::write_kubeconfig(&kubeconfig, &url, ca_pem.as_deref())?;

    let router = crate::router(Arc::clone(&app));
    let (stop, stop_rx) = watch::channel(false);
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.server_config));
    let accept = tokio::spawn(accept_loop(
        listener,
        router,
        acceptor,
        stop_rx,
        config.shutdown_grace,
    ));
    let controllers = ks_kube_api::spawn_controllers(Arc::clone(&app));
    tracing::info!(%url, kubeconfig = %kubeconfig.display(), data_dir = %data_dir.display(), in_memory = config.in_memory, "ks-apiserver is serving");
    Ok(RunningServer {
        app,
        local_addr,
        url,
        kubeconfig: Some(kubeconfig),
        ca_pem,
        store: Some(store),
        stop,
        accept,
        controllers,
        grace: config.shutdown_grace,
    })
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let builder = hyper::server::conn::http1::Builder::new();
        match &acceptor {
            None => {
                let conn = builder.serve_connection(TokioIo::new(tcp), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let tls =
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn = builder.serve_connection(TokioIo::new(tls), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = TokioExecutor::new();
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the shutdown grace period");
    }
}

impl RunningServer {
    /// Stops accepting, ends watches, waits for in-flight requests (up to
    /// the grace period), then closes the store after its queued writes.
    pub async fn shutdown(mut self) {
        tracing::info!("shutting down");
        self.app.begin_shutdown();
        let _ = self.stop.send(true);
        let grace = self.grace + Duration::from_secs(1);
        let accept = std::mem::replace(&mut self.accept, tokio::spawn(async {}));
        let _ = tokio::time::timeout(grace, accept).await;
        for c in self.controllers.drain(..) {
            c.abort();
        }
        if let Some(store) = self.store.take() {
            store.shutdown().await;
        }
        tracing::info!("stopped");
    }

    /// The data directory's kubeconfig path, if one was written.
    pub fn kubeconfig_path(&self) -> Option<&Path> {
        self.kubeconfig.as_deref()
    }
}
