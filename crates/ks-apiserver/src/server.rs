//! Running the server: configuration, the store, bootstrap, the listener
//! (HTTPS with a generated certificate, or plain HTTP when asked), the
//! background controllers, and graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
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
    /// Serve plain HTTP instead of HTTPS (loopback only).
    pub plain_http: bool,
    /// The bootstrap admin's password on first start; `None` generates
    /// one into `DATA/admin-password`.
    pub admin_password: Option<String>,
    /// How requests are authorized.
    pub authorization: crate::authz::Mode,
    /// Token lifetimes and `multipleLogin`.
    pub tokens: crate::authn::TokenPolicy,
    /// The lockout after failed logins.
    pub lockout: crate::authn::login::Lockout,
    /// The HS256 secret of the server's tokens; `None` reads (or creates)
    /// `DATA/jwt-secret`.
    pub jwt_secret: Option<String>,
    /// The tokens' issuer (`iss`).
    pub issuer: String,
    /// The OAuth clients allowed at `/oauth/token`.
    pub oauth_clients: Vec<crate::oauth::Client>,
    /// Peers whose forwarded-address headers are believed (empty:
    /// loopback peers).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Auditing: level, webhook, rotation. Without a sink, the log goes
    /// to `DATA/audit.log` (unless the level is `None`).
    pub audit: crate::audit::AuditConfig,
    /// Store tuning (compaction window and interval, history size).
    pub store: StoreConfig,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// The controllers run in-process (`--controllers`); `None` runs none
    /// (`--no-controllers`, for a standalone `ks-controller-manager`).
    pub controllers: Option<ks_controller_manager::Controllers>,
    /// The controllers' settings (login history, lockout duration).
    pub controller_settings: ks_controller_manager::Settings,
    /// `gpu.kinds` of `kubesphere.yaml`, served at
    /// `/kapis/config.kubesphere.io/v1alpha2/configs/gpu/kinds`.
    pub gpu_kinds: Vec<crate::kapis::config::GpuKind>,
}

impl Config {
    /// Defaults for a data directory: `127.0.0.1:6443`, durable, HTTPS.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 6443)),
            in_memory: false,
            plain_http: false,
            admin_password: None,
            authorization: crate::authz::Mode::Rbac,
            tokens: crate::authn::TokenPolicy::default(),
            lockout: crate::authn::login::Lockout::default(),
            jwt_secret: None,
            issuer: "kubesphere".to_owned(),
            oauth_clients: vec![crate::oauth::Client::kubesphere_default()],
            trusted_proxies: Vec::new(),
            audit: crate::audit::AuditConfig::default(),
            store: StoreConfig::default(),
            shutdown_grace: Duration::from_secs(10),
            controllers: Some(ks_controller_manager::Controllers::default()),
            controller_settings: ks_controller_manager::Settings::default(),
            gpu_kinds: Vec::new(),
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
    /// A token of the bootstrap admin (what the kubeconfig holds over plain
    /// HTTP; over HTTPS it holds a client certificate instead).
    pub admin_token: String,
    /// The authorizer, for tests that wait for a policy change.
    pub rbac: Arc<crate::authz::Rbac>,
    /// The filter chain's state (authenticators, authorizer), for tests
    /// and benchmarks that call it without HTTP.
    pub security: Arc<crate::filters::Security>,
    /// The in-process controllers, unless they were turned off.
    pub controllers: Option<crate::controllers::RunningControllers>,
    store: Option<Store>,
    audit: Option<crate::audit::AuditTask>,
    _following: Following,
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
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

/// What keeps the in-memory views current; dropped at shutdown.
struct Following {
    _users: crate::informer::Informer,
    _revocations: crate::informer::Informer,
    _rbac: crate::authz::RbacTask,
}

/// Opens the store, bootstraps it, binds the listener and starts serving.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    if !is_loopback(&config.listen) && config.plain_http {
        return Err(StartError::Config(format!(
            "refusing to serve plain HTTP on {}: passwords and tokens would cross the network in clear; listen on a loopback address or drop --plain-http",
            config.listen
        )));
    }
    if !is_loopback(&config.listen) && config.authorization == crate::authz::Mode::AlwaysAllow {
        return Err(StartError::Config(format!(
            "refusing --authorization-mode AlwaysAllow on {}: it is for benchmarks on a loopback address only",
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
    let (revocations, revocations_informer) =
        crate::authn::users::Revocations::follow(Arc::clone(&storage)).await?;
    let (rbac, rbac_task) = crate::authz::Rbac::follow(Arc::clone(&storage)).await?;
    let app = crate::app_with(
        Arc::clone(&storage),
        Some(Arc::clone(&revocations)),
        Some(Arc::clone(&rbac)),
    );
    crate::bootstrap::bootstrap(&app)
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?;
    let admin_password = match &config.admin_password {
        Some(password) => password.clone(),
        None => {
            crate::secrets::admin_password(&data_dir).map_err(|source| StartError::DataDir {
                path: data_dir.clone(),
                source,
            })?
        }
    };
    if crate::bootstrap::bootstrap_admin(&app, &admin_password)
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?
    {
        match &config.admin_password {
            Some(_) => tracing::info!("created the bootstrap admin with the given password"),
            None => tracing::info!(
                file = %data_dir.join(crate::secrets::ADMIN_PASSWORD_FILE).display(),
                "created the bootstrap admin; its password is in this file"
            ),
        }
    }
    drop(admin_password);
    // The bootstrap admin's binding must be in force before serving.
    rbac.reload(&*storage).await?;
    let (users, users_informer) = crate::authn::users::Users::follow(Arc::clone(&storage)).await?;

    let jwt_secret = match &config.jwt_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => crate::secrets::jwt_secret(&data_dir).map_err(|source| StartError::DataDir {
            path: data_dir.clone(),
            source,
        })?,
    };
    let tokens = Arc::new(crate::authn::Tokens::new(
        crate::authn::jwt::TokenCodec::new(&jwt_secret, config.issuer.clone()),
        config.tokens,
        Arc::clone(&users),
        Arc::clone(&revocations),
    ));
    let logins = Arc::new(crate::authn::login::Logins::new(
        Arc::clone(&users),
        crate::authn::users::PasswordCache::new(&crate::secrets::random_bytes::<32>(), 10_000),
        crate::internal::Internal::new(Arc::clone(&app)),
        config.lockout,
    ));
    let mut audit_config = config.audit.clone();
    if audit_config.sink.is_none() && audit_config.level != crate::audit::AuditLevel::None {
        audit_config.sink = Some(crate::audit::AuditSink::Path(data_dir.join("audit.log")));
    }
    let (auditor, audit_task) = crate::audit::Auditor::spawn(audit_config)
        .map_err(|e| StartError::Config(format!("auditing: {e}")))?;
    let metrics = crate::metrics::Metrics::new();
    metrics.observe_audit(auditor.stats());
    let security = Arc::new(crate::filters::Security {
        resolver: app.resolver.clone(),
        authenticator: crate::authn::Authenticator {
            tokens: Arc::clone(&tokens),
            logins: Arc::clone(&logins),
        },
        mode: config.authorization,
        rbac: Arc::clone(&rbac),
        trusted_proxies: config.trusted_proxies.clone(),
        metrics: metrics.clone(),
    });
    let oauth = Arc::new(crate::oauth::OAuth {
        tokens: Arc::clone(&tokens),
        logins,
        clients: config.oauth_clients.clone(),
        metrics: metrics.clone(),
    });
    let admin = users
        .get(crate::bootstrap::ADMIN)
        .ok_or_else(|| StartError::Bootstrap("the bootstrap admin is missing".into()))?;
    let admin_token = tokens
        .issue_for(
            &admin,
            jiff::Timestamp::now().as_second(),
            ADMIN_TOKEN_LIFETIME,
        )
        .access_token;

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
    let credentials = match &tls {
        Some(material) => crate::tls::KubeconfigCredentials::ClientCertificate(
            material.client_certificate(crate::bootstrap::ADMIN, None)?,
        ),
        None => crate::tls::KubeconfigCredentials::Token(admin_token.clone()),
    };
    let kubeconfig = data_dir.join("kubeconfig");
    crate::tls::write_kubeconfig(&kubeconfig, &url, ca_pem.as_deref(), &credentials)?;

    let mut kapis = crate::kapis::Kapis::new(Arc::clone(&app), Arc::clone(&security));
    kapis.catalog =
        Arc::new(crate::kapis::catalog::Catalog::follow(&app, Arc::clone(&storage)).await?);
    kapis.oauth = crate::kapis::config::OAuthSettings {
        issuer: config.issuer.clone(),
        clients: config.oauth_clients.iter().map(|c| c.id.clone()).collect(),
        access_token_max_age: config.tokens.access_max_age,
        access_token_inactivity_timeout: config.tokens.inactivity_timeout,
    };
    kapis.gpu_kinds = config.gpu_kinds.clone();
    let router = crate::secured_router(
        Arc::clone(&app),
        Arc::clone(&security),
        oauth,
        Arc::new(kapis),
        auditor,
        &metrics,
    );
    let in_process_router = router.clone();
    let (stop, stop_rx) = watch::channel(false);
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.server_config));
    let accept = tokio::spawn(accept_loop(
        listener,
        router,
        acceptor,
        stop_rx,
        config.shutdown_grace,
    ));
    let background = ks_kube_api::spawn_controllers(Arc::clone(&app));
    let controllers = config.controllers.clone().map(|selected| {
        let running = crate::controllers::RunningControllers::start(
            in_process_router,
            selected,
            config.controller_settings.clone(),
        );
        metrics.observe_controllers(running.metrics().clone());
        running
    });
    tracing::info!(%url, kubeconfig = %kubeconfig.display(), data_dir = %data_dir.display(), in_memory = config.in_memory, authorization = ?config.authorization, "ks-apiserver is serving");
    Ok(RunningServer {
        app,
        local_addr,
        url,
        kubeconfig: Some(kubeconfig),
        ca_pem,
        admin_token,
        rbac,
        security,
        store: Some(store),
        audit: Some(audit_task),
        _following: Following {
            _users: users_informer,
            _revocations: revocations_informer,
            _rbac: rbac_task,
        },
        controllers,
        stop,
        accept,
        background,
        grace: config.shutdown_grace,
    })
}

/// How long the bootstrap admin's token (in a plain-HTTP kubeconfig)
/// lives: a plain-HTTP server is a loopback development server, and its
/// kubeconfig is rewritten with a fresh token at every start.
const ADMIN_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    // Every connection holds a receiver until it ends: the loop waits for
    // them all (up to the grace period) once it stops accepting.
    let (drain, _) = watch::channel(());
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
        let builder = hyper::server::conn::http1::Builder::new();
        let stop = stop.clone();
        let held = drain.subscribe();
        match &acceptor {
            None => {
                let service = connection_service(router.clone(), peer, None);
                // Upgrades: watches over WebSocket.
                let conn = builder
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades();
                tokio::spawn(async move {
                    if let Err(e) = serve_until_stopped(conn, stop, held).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let router = router.clone();
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
                    let identity = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .and_then(|cert| crate::tls::certificate_identity(cert))
                        .map(Arc::new);
                    let service = connection_service(router, peer, identity);
                    let conn = builder
                        .serve_connection(TokioIo::new(tls), service)
                        .with_upgrades();
                    if let Err(e) = serve_until_stopped(conn, stop, held).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, drain.closed()).await.is_err() {
        tracing::warn!("in-flight requests did not finish within the shutdown grace period");
    }
}

/// Serves one connection until it ends. When `stop` turns true, hyper's
/// graceful shutdown lets the request in flight finish, then closes.
/// `_held` marks the connection as open for the accept loop. A connection
/// upgraded to a WebSocket leaves hyper here; its watch ends on the
/// application's own shutdown signal ([`App::websockets_closed`]).
async fn serve_until_stopped<I, S, B>(
    conn: hyper::server::conn::http1::UpgradeableConnection<I, S>,
    mut stop: watch::Receiver<bool>,
    _held: watch::Receiver<()>,
) -> Result<(), hyper::Error>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return result,
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
    conn.as_mut().graceful_shutdown();
    conn.await
}

/// The router for one connection: every request carries the
/// [`Connection`](crate::context::Connection) it came in on.
fn connection_service(
    router: Router,
    peer: SocketAddr,
    client_certificate: Option<Arc<crate::context::CertificateIdentity>>,
) -> TowerToHyperService<
    tower::util::MapRequest<
        Router,
        impl FnMut(http::Request<hyper::body::Incoming>) -> http::Request<hyper::body::Incoming> + Clone,
    >,
> {
    let connection = crate::context::Connection {
        peer,
        client_certificate,
    };
    let service = tower::ServiceExt::map_request(
        router,
        move |mut request: http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(connection.clone());
            request
        },
    );
    TowerToHyperService::new(service)
}

impl RunningServer {
    /// Stops accepting, ends watches, waits for in-flight requests (up to
    /// the grace period), then closes the store after its queued writes.
    pub async fn shutdown(mut self) {
        tracing::info!("shutting down");
        // The controllers first, while the API still answers them.
        if let Some(controllers) = &mut self.controllers {
            controllers.stop(self.grace).await;
        }
        self.app.begin_shutdown();
        let _ = self.stop.send(true);
        let grace = self.grace + Duration::from_secs(1);
        let accept = std::mem::replace(&mut self.accept, tokio::spawn(async {}));
        let _ = tokio::time::timeout(grace, accept).await;
        // WebSocket watches left hyper when they upgraded; they close on
        // `begin_shutdown` above, and get the same grace to do it.
        if tokio::time::timeout(grace, self.app.websockets_closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open = self.app.open_websockets(),
                "WebSocket watches did not close within the shutdown grace period"
            );
        }
        for c in self.background.drain(..) {
            c.abort();
        }
        if let Some(audit) = self.audit.take() {
            audit.shutdown().await;
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
