//! The `ks-apiserver` binary: flags, logging, signals; everything else is
//! in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// KubeSphere's API server: a Kubernetes-compatible API over an embedded
/// durable store. kubectl works against it with the kubeconfig it writes.
#[derive(Debug, Parser)]
#[command(name = "ks-apiserver", version)]
struct Args {
    /// Directory for the store, certificates and kubeconfig (created on
    /// first run). Default: the user's data directory, `ks-rs` inside it.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6443", value_name = "ADDR")]
    listen: SocketAddr,
    /// Keep objects in memory only: nothing survives a restart.
    #[arg(long)]
    in_memory: bool,
    /// Serve plain HTTP instead of HTTPS (loopback addresses only; the
    /// kubeconfig then holds a token, which kubectl does not send over
    /// plain HTTP: use HTTPS with kubectl).
    #[arg(long)]
    plain_http: bool,
    /// File holding the bootstrap admin's password, used when the admin is
    /// created (first start). Without it, KS_ADMIN_PASSWORD, else a
    /// generated password written to DATA/admin-password.
    #[arg(long, value_name = "FILE")]
    admin_password_file: Option<PathBuf>,
    /// KubeSphere's configuration file (`kubesphere.yaml`): its
    /// `authentication`, `authorization` and `auditing` sections. Flags
    /// override it. See docs/configuration.md.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// How requests are authorized: RBAC (the default), or AlwaysAllow
    /// (benchmarks, loopback only).
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    authorization_mode: Option<ks_apiserver::authz::Mode>,
    /// Peers whose X-Forwarded-For / X-Client-IP headers are believed
    /// (comma-separated IP addresses; default: loopback peers only).
    #[arg(long, value_name = "IPS", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Where the audit log goes: a file (rotated at 100 MiB, 5 kept), or
    /// `-` for standard output. Default: DATA/audit.log.
    #[arg(long, value_name = "PATH")]
    audit_log_path: Option<String>,
    /// How much each audit event records: None, Metadata (the default),
    /// Request or RequestResponse.
    #[arg(long, value_name = "LEVEL")]
    audit_level: Option<ks_apiserver::audit::AuditLevel>,
    /// Also POST audit events in batches to this URL, as KubeSphere's
    /// auditing backend does (`{"Items": [...]}`).
    #[arg(long, value_name = "URL")]
    audit_webhook_url: Option<String>,
    /// The CA bundle (PEM) an `https://` audit webhook's certificate must
    /// chain to (for `--audit-webhook-url` or `auditing.webhookUrl`).
    #[arg(long, value_name = "FILE")]
    audit_webhook_ca: Option<std::path::PathBuf>,
    /// Revisions kept behind the current one at each compaction.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    compaction_retain: u64,
    /// Which controllers run in-process, in KubeSphere's syntax:
    /// comma-separated `*` (every controller, the default), `name` (enable
    /// it), `-name` (disable it). Unknown names are an error.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "no_controllers"
    )]
    controllers: Vec<String>,
    /// Run no controllers (when a standalone ks-controller-manager
    /// reconciles this server's objects).
    #[arg(long)]
    no_controllers: bool,
    /// Seconds between compactions.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    compaction_interval: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ks-apiserver: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let mut config = ks_apiserver::Config::new(
        args.data_dir
            .clone()
            .unwrap_or_else(ks_apiserver::default_data_dir),
    );
    config.listen = args.listen;
    config.in_memory = args.in_memory;
    config.plain_http = args.plain_http;
    if let Err(e) = apply_options(&mut config, &args) {
        eprintln!("ks-apiserver: {e}");
        return ExitCode::from(2);
    }
    config.trusted_proxies = args.trusted_proxies.clone();
    config.controllers = if args.no_controllers {
        None
    } else if args.controllers.is_empty() {
        Some(ks_controller_manager::Controllers::default())
    } else {
        match ks_controller_manager::Controllers::parse(&args.controllers) {
            Ok(selected) => Some(selected),
            Err(e) => {
                eprintln!("ks-apiserver: {e}");
                return ExitCode::from(2);
            }
        }
    };
    config.admin_password = match admin_password(args.admin_password_file.as_deref()) {
        Ok(password) => password,
        Err(e) => {
            eprintln!("ks-apiserver: {e}");
            return ExitCode::from(2);
        }
    };
    config.store.compaction_retain = args.compaction_retain;
    config.store.compaction_interval =
        std::time::Duration::from_secs(args.compaction_interval.max(1));
    let server = match ks_apiserver::start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("ks-apiserver: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(kubeconfig) = &server.kubeconfig {
        println!("ks-apiserver is serving at {}", server.url);
        println!(
            "use it with: kubectl --kubeconfig {} get namespaces",
            kubeconfig.display()
        );
    }
    ks_controller_manager::shutdown_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// The configuration file (if any) under the flags: flags win, then the
/// file, then the defaults. Warnings about the file go to stderr.
fn apply_options(config: &mut ks_apiserver::Config, args: &Args) -> Result<(), String> {
    use ks_apiserver::options::{EffectiveOptions, FlagOverrides, KubeSphereOptions};
    let file = match &args.config {
        Some(path) => {
            let loaded = KubeSphereOptions::load(path)
                .map_err(|e| format!("--config {}: {e}", path.display()))?;
            for warning in &loaded.warnings {
                eprintln!("ks-apiserver: --config {}: {warning}", path.display());
            }
            config.gpu_kinds = (loaded.options.gpu_kinds())
                .map_err(|e| format!("--config {}: {e}", path.display()))?;
            EffectiveOptions::from_options(&loaded.options)
        }
        None => EffectiveOptions::default(),
    };
    let effective = file.with_flags(&FlagOverrides {
        authorization_mode: args.authorization_mode,
        audit_level: args.audit_level,
        audit_log_path: args
            .audit_log_path
            .as_deref()
            .map(|p| p.parse().unwrap_or_else(|never| match never {})),
        audit_webhook_url: args.audit_webhook_url.clone(),
    });
    let authn = &effective.authentication;
    config.authorization = effective.authorization;
    config.lockout = authn.lockout();
    config.tokens = authn.token_policy().map_err(|e| format!("--config: {e}"))?;
    config.jwt_secret = authn.jwt_secret.as_ref().map(|s| s.expose().to_owned());
    config.issuer = authn.issuer.clone();
    config.oauth_clients = authn.clients.clone();
    config.controller_settings = ks_controller_manager::Settings {
        authenticate_rate_limiter_duration: authn.lockout_window,
        login_history_maximum_entries: usize::try_from(authn.login_history_max_entries)
            .unwrap_or(usize::MAX),
        login_history_retention_period: authn.login_history_retention,
    };
    let audit = &effective.auditing;
    config.audit.level = audit.level;
    config.audit.sink = audit.log_path.clone();
    config.audit.max_size_bytes = audit.max_size_bytes;
    config.audit.max_backups = audit.max_backups;
    let webhook_ca = match &args.audit_webhook_ca {
        Some(file) => {
            if audit.webhook.is_none() {
                return Err(
                    "--audit-webhook-ca: no audit webhook is configured (--audit-webhook-url, or auditing.enable with auditing.webhookUrl)"
                        .to_owned(),
                );
            }
            let pem = std::fs::read_to_string(file)
                .map_err(|e| format!("--audit-webhook-ca {}: {e}", file.display()))?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(format!(
                    "--audit-webhook-ca {}: no PEM certificate in the file",
                    file.display()
                ));
            }
            Some(pem)
        }
        None => None,
    };
    config.audit.webhook = audit.webhook.as_ref().map(|w| {
        let mut webhook = ks_apiserver::audit::WebhookConfig::new(w.url.clone());
        webhook.batch_size = w.batch_size;
        webhook.batch_interval = w.batch_interval;
        webhook.ca_pem = webhook_ca;
        webhook
    });
    Ok(())
}

fn parse_mode(s: &str) -> Result<ks_apiserver::authz::Mode, String> {
    match s {
        "RBAC" => Ok(ks_apiserver::authz::Mode::Rbac),
        "AlwaysAllow" => Ok(ks_apiserver::authz::Mode::AlwaysAllow),
        _ => Err(format!(
            "unknown authorization mode {s:?}: RBAC or AlwaysAllow"
        )),
    }
}

/// The bootstrap admin's password from `--admin-password-file` or
/// `KS_ADMIN_PASSWORD`, if given (the file wins; one trailing newline is
/// not part of the password).
fn admin_password(file: Option<&std::path::Path>) -> Result<Option<String>, String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--admin-password-file {}: {e}", file.display()))?;
        let password = text.strip_suffix('\n').unwrap_or(&text);
        let password = password.strip_suffix('\r').unwrap_or(password);
        if password.is_empty() {
            return Err(format!(
                "--admin-password-file {}: the file is empty",
                file.display()
            ));
        }
        return Ok(Some(password.to_owned()));
    }
    Ok(std::env::var("KS_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty()))
}
