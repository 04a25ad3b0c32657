//! Self-managed TLS: a small CA and a server certificate kept in the data
//! directory, and a kubeconfig that trusts them.
//!
//! On first start [`load_or_create`] creates a CA ([`CA_CERT_FILE`],
//! [`CA_KEY_FILE`], valid ten years). Every start then issues a fresh server
//! certificate ([`SERVER_CERT_FILE`], [`SERVER_KEY_FILE`], valid one year)
//! signed by that CA, so a changed host list takes effect on restart while
//! the kubeconfigs already handed out (which embed the CA) keep working.
//!
//! Why a CA plus a leaf rather than one self-signed certificate: kubectl (Go)
//! verifies the served chain against `certificate-authority-data`, and
//! webpki, used by kube-rs and other rustls clients, rejects a CA certificate
//! presented as the end entity. A CA with a separate server leaf satisfies
//! both.
//!
//! Private keys are written with mode 0600 on unix and are never logged.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier as _;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{
    CertificateDer, DnsName, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, RootCertStore, ServerConfig};

/// File name of the CA certificate (PEM) inside the TLS directory.
pub const CA_CERT_FILE: &str = "ca.crt";
/// File name of the CA private key (PKCS#8 PEM, mode 0600) inside the TLS directory.
pub const CA_KEY_FILE: &str = "ca.key";
/// File name of the server certificate (PEM, leaf only) inside the TLS directory.
pub const SERVER_CERT_FILE: &str = "server.crt";
/// File name of the server private key (PKCS#8 PEM, mode 0600) inside the TLS directory.
pub const SERVER_KEY_FILE: &str = "server.key";

/// Names the server certificate always covers, so local clients work out of the box.
const DEFAULT_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
const SERVER_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Certificates start this far in the past so that a client whose clock is
/// slightly behind ours does not reject them as not yet valid.
const CLOCK_SKEW: Duration = Duration::from_secs(60 * 60);
/// Name of the cluster and of the context in the kubeconfig.
const KUBECONFIG_CLUSTER: &str = "ks-rs";
/// Name of the user in the kubeconfig.
const KUBECONFIG_USER: &str = "ks-rs-admin";

/// Errors from creating, loading or writing TLS material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "read" or "create directory".
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Only one of the CA certificate and the CA key exists.
    #[error(
        "{} exists but {} is missing; restore it, or delete {} to create a new CA \
         (kubeconfigs that embed the old CA will then stop working)",
        present.display(), missing.display(), present.display()
    )]
    IncompleteCa {
        /// The CA file that exists.
        present: PathBuf,
        /// The CA file that is missing.
        missing: PathBuf,
    },
    /// The CA private key cannot be parsed.
    #[error(
        "invalid CA private key in {}: {source} (expected an unencrypted PKCS#8 PEM key)",
        path.display()
    )]
    InvalidCaKey {
        /// The key file.
        path: PathBuf,
        /// Why parsing failed.
        source: rcgen::Error,
    },
    /// The CA certificate cannot be parsed.
    #[error("invalid CA certificate in {}: {reason}", path.display())]
    InvalidCaCert {
        /// The certificate file.
        path: PathBuf,
        /// Why parsing failed.
        reason: String,
    },
    /// The CA key does not belong to the CA certificate.
    #[error(
        "{} does not hold the private key of the certificate in {}",
        key.display(),
        cert.display()
    )]
    CaKeyMismatch {
        /// The CA certificate file.
        cert: PathBuf,
        /// The CA key file.
        key: PathBuf,
    },
    /// A certificate issued by the CA does not verify against it, for instance
    /// because the CA has expired or is not marked as a CA.
    #[error("the CA in {} cannot issue a usable server certificate: {source}", cert.display())]
    UnusableCa {
        /// The CA certificate file.
        cert: PathBuf,
        /// The verification error.
        source: rustls::Error,
    },
    /// A host given for the server certificate is neither an IP address nor a DNS name.
    #[error("{host:?} is neither an IP address nor a valid DNS name for the server certificate")]
    InvalidHost {
        /// The offending host.
        host: String,
    },
    /// Generating a key or signing a certificate failed.
    #[error("cannot generate the {what}: {source}")]
    Generate {
        /// What was being generated, e.g. "CA certificate".
        what: &'static str,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// rustls refused the certificate chain or key.
    #[error("cannot build the TLS server configuration from {}: {source}", dir.display())]
    ServerConfig {
        /// The TLS directory.
        dir: PathBuf,
        /// The underlying error.
        source: rustls::Error,
    },
    /// The kubeconfig server URL is not an http or https URL.
    #[error(
        "invalid server URL {url:?} for kubeconfig {}: \
         expected http://HOST[:PORT] or https://HOST[:PORT]",
        path.display()
    )]
    InvalidServerUrl {
        /// The kubeconfig being written.
        path: PathBuf,
        /// The offending URL.
        url: String,
    },
}

/// What the HTTPS listener and the kubeconfig writer need.
#[derive(Clone)]
pub struct TlsMaterial {
    /// rustls configuration serving the chain `[server leaf, CA]` and
    /// asking for (not requiring) a client certificate signed by the CA.
    pub server_config: Arc<ServerConfig>,
    /// The CA certificate in PEM, for `certificate-authority-data`.
    pub ca_pem: String,
    issuer: Arc<Issuer<'static, KeyPair>>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

/// A client certificate and its private key, in PEM.
#[derive(Clone)]
pub struct ClientCertificate {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate").finish_non_exhaustive()
    }
}

/// How long an issued client certificate is valid.
const CLIENT_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

impl TlsMaterial {
    /// A client certificate signed by the CA, for `user` (subject CN),
    /// in `group` if given (subject O), valid one year: what kube-apiserver
    /// and this server read as an identity. (The server reads any number
    /// of O values; rcgen writes at most one.)
    pub fn client_certificate(
        &self,
        user: &str,
        group: Option<&str>,
    ) -> Result<ClientCertificate, TlsError> {
        let key = KeyPair::generate().map_err(|source| TlsError::Generate {
            what: "client key",
            source,
        })?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(group) = group {
            params
                .distinguished_name
                .push(DnType::OrganizationName, group);
        }
        params.distinguished_name.push(DnType::CommonName, user);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, CLIENT_LIFETIME);
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| TlsError::Generate {
                what: "client certificate",
                source,
            })?;
        Ok(ClientCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The identity in a verified client certificate (the first of the
/// chain): subject CN as the user, subject O values as the groups. `None`
/// when the certificate has no CN.
pub fn certificate_identity(der: &[u8]) -> Option<crate::context::CertificateIdentity> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let user = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    if user.is_empty() {
        return None;
    }
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(str::to_owned)
        .collect();
    Some(crate::context::CertificateIdentity { user, groups })
}

/// Loads the CA from `dir` (`ca.crt`, `ca.key`) or creates it (10 years
/// validity), then issues a fresh server certificate (`server.crt`,
/// `server.key`; 1 year) for `hosts` (DNS names and IP literals; `localhost`,
/// `127.0.0.1` and `::1` are always included) signed by that CA, and returns
/// a rustls [`ServerConfig`] (ring provider, TLS 1.2 and 1.3, ALPN
/// `http/1.1` only since the server speaks HTTP/1.1) with the chain
/// `[leaf, ca]`.
///
/// `dir` is created (mode 0700 on unix) if missing. A CA that exists but
/// cannot be used is an error naming the file, never silently replaced:
/// kubeconfigs already copied elsewhere embed it.
pub fn load_or_create(dir: &Path, hosts: &[String]) -> Result<TlsMaterial, TlsError> {
    let sans = subject_alt_names(hosts)?;
    create_dir(dir)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let ca_cert_path = dir.join(CA_CERT_FILE);
    let ca_key_path = dir.join(CA_KEY_FILE);
    let exists = |path: &Path| path.try_exists().map_err(io_error("inspect", path));
    let (ca_pem, ca_der, issuer) = match (exists(&ca_cert_path)?, exists(&ca_key_path)?) {
        (true, true) => load_ca(&ca_cert_path, &ca_key_path)?,
        (false, false) => create_ca(&ca_cert_path, &ca_key_path)?,
        (true, false) => {
            return Err(TlsError::IncompleteCa {
                present: ca_cert_path,
                missing: ca_key_path,
            });
        }
        (false, true) => {
            return Err(TlsError::IncompleteCa {
                present: ca_key_path,
                missing: ca_cert_path,
            });
        }
    };

    let leaf_key = KeyPair::generate().map_err(|source| TlsError::Generate {
        what: "server key",
        source,
    })?;
    let leaf = server_params(sans)
        .signed_by(&leaf_key, &issuer)
        .map_err(|source| TlsError::Generate {
            what: "server certificate",
            source,
        })?;
    check_issued(leaf.der(), &ca_der, &provider).map_err(|source| match source {
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
            TlsError::CaKeyMismatch {
                cert: ca_cert_path.clone(),
                key: ca_key_path.clone(),
            }
        }
        source => TlsError::UnusableCa {
            cert: ca_cert_path.clone(),
            source,
        },
    })?;
    write_atomic(
        &dir.join(SERVER_KEY_FILE),
        leaf_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_atomic(&dir.join(SERVER_CERT_FILE), leaf.pem().as_bytes(), 0o644)?;
    tracing::info!(dir = %dir.display(), hosts = ?hosts_of(hosts), "issued server certificate");

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let server_error = |source| TlsError::ServerConfig {
        dir: dir.to_owned(),
        source,
    };
    // Client certificates are asked for and verified against the CA, but
    // not required: other clients authenticate with tokens or passwords.
    let mut roots = RootCertStore::empty();
    roots.add(ca_der.clone()).map_err(server_error)?;
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| server_error(rustls::Error::General(e.to_string())))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|builder| {
            builder
                .with_client_cert_verifier(client_verifier)
                .with_single_cert(vec![leaf.der().clone(), ca_der], key)
        })
        .map_err(server_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        server_config: Arc::new(config),
        ca_pem,
        issuer: Arc::new(issuer),
    })
}

/// Writes a kubeconfig (YAML, mode 0600 on unix) with one cluster `ks-rs`
/// pointing at `server_url`, one user `ks-rs-admin` holding `credentials`
/// (a client certificate over HTTPS, a token over plain HTTP), one context
/// `ks-rs`, and `current-context: ks-rs`.
///
/// With `ca_pem`, the cluster trusts exactly that CA
/// (`certificate-authority-data`); without it (plain http URLs), it carries
/// `insecure-skip-tls-verify: false` and no CA. The file is replaced
/// atomically (temporary file, then rename); missing parent directories are
/// created.
pub fn write_kubeconfig(
    path: &Path,
    server_url: &str,
    ca_pem: Option<&str>,
    credentials: &KubeconfigCredentials,
) -> Result<(), TlsError> {
    let valid_url = ["http://", "https://"]
        .iter()
        .any(|scheme| server_url.len() > scheme.len() && server_url.starts_with(scheme))
        && !server_url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !valid_url {
        return Err(TlsError::InvalidServerUrl {
            path: path.to_owned(),
            url: server_url.to_owned(),
        });
    }
    let kubeconfig = Kubeconfig {
        api_version: "v1",
        kind: "Config",
        clusters: vec![Named {
            name: KUBECONFIG_CLUSTER,
            cluster: Cluster {
                server: server_url,
                certificate_authority_data: ca_pem
                    .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem)),
                insecure_skip_tls_verify: ca_pem.is_none().then_some(false),
            },
        }],
        users: vec![NamedUser {
            name: KUBECONFIG_USER,
            user: match credentials {
                KubeconfigCredentials::ClientCertificate(cert) => User {
                    client_certificate_data: Some(b64(&cert.cert_pem)),
                    client_key_data: Some(b64(&cert.key_pem)),
                    token: None,
                },
                KubeconfigCredentials::Token(token) => User {
                    client_certificate_data: None,
                    client_key_data: None,
                    token: Some(token),
                },
            },
        }],
        contexts: vec![NamedContext {
            name: KUBECONFIG_CLUSTER,
            context: Context {
                cluster: KUBECONFIG_CLUSTER,
                user: KUBECONFIG_USER,
            },
        }],
        current_context: KUBECONFIG_CLUSTER,
        preferences: Preferences {},
    };
    let yaml = serde_norway::to_string(&kubeconfig).map_err(|e| TlsError::Io {
        action: "encode",
        path: path.to_owned(),
        source: io::Error::other(e),
    })?;
    let yaml = format!(
        "# Written by ks-apiserver: the bootstrap admin's credentials. Keep it private.\n{yaml}"
    );
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_error("create directory", parent))?;
    }
    write_atomic(path, yaml.as_bytes(), 0o600)?;
    tracing::info!(path = %path.display(), server = server_url, "wrote kubeconfig");
    Ok(())
}

/// The SANs for `hosts` plus [`DEFAULT_HOSTS`], without duplicates, in order.
fn subject_alt_names(hosts: &[String]) -> Result<Vec<SanType>, TlsError> {
    let mut seen = HashSet::new();
    let mut sans = Vec::new();
    for host in hosts_of(hosts) {
        let invalid = || TlsError::InvalidHost {
            host: host.to_owned(),
        };
        // Accept the bracketed form of IPv6 literals, as written in URLs.
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let san = match bare.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => {
                // A leading wildcard label is allowed; the rest must be a DNS name.
                let name = host.strip_prefix("*.").unwrap_or(host);
                DnsName::try_from(name).map_err(|_| invalid())?;
                SanType::DnsName(
                    host.to_ascii_lowercase()
                        .try_into()
                        .map_err(|_| invalid())?,
                )
            }
        };
        if seen.insert(san.clone()) {
            sans.push(san);
        }
    }
    Ok(sans)
}

/// The requested hosts followed by the ones always covered.
fn hosts_of(hosts: &[String]) -> Vec<&str> {
    hosts
        .iter()
        .map(String::as_str)
        .chain(DEFAULT_HOSTS)
        .collect()
}

fn create_ca(
    cert_path: &Path,
    key_path: &Path,
) -> Result<(String, CertificateDer<'static>, Issuer<'static, KeyPair>), TlsError> {
    let key = KeyPair::generate().map_err(|source| TlsError::Generate {
        what: "CA key",
        source,
    })?;
    let mut params = CertificateParams::default();
    // A name unique to this CA (creation time, as k3s does, plus the start of
    // the key identifier): verifiers look issuers up by name, so two ks-rs
    // CAs sharing one would make a client that trusts the other one report a
    // bad signature instead of an unknown issuer.
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let id: String = params
        .key_identifier(&key)
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("ks-rs-ca@{created}-{id}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, CA_LIFETIME);
    let cert = params
        .self_signed(&key)
        .map_err(|source| TlsError::Generate {
            what: "CA certificate",
            source,
        })?;
    let ca_pem = cert.pem();
    // Key first: a crash in between leaves a key without a certificate, which
    // `load_or_create` reports instead of guessing.
    write_atomic(key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(cert_path, ca_pem.as_bytes(), 0o644)?;
    tracing::info!(cert = %cert_path.display(), "created a new CA");
    Ok((ca_pem, cert.der().clone(), Issuer::new(params, key)))
}

fn load_ca(
    cert_path: &Path,
    key_path: &Path,
) -> Result<(String, CertificateDer<'static>, Issuer<'static, KeyPair>), TlsError> {
    warn_if_exposed(key_path);
    let key_pem = read_to_string(key_path)?;
    let key = KeyPair::from_pem(&key_pem).map_err(|source| TlsError::InvalidCaKey {
        path: key_path.to_owned(),
        source,
    })?;
    let ca_pem = read_to_string(cert_path)?;
    let invalid_cert = |reason: String| TlsError::InvalidCaCert {
        path: cert_path.to_owned(),
        reason,
    };
    let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes())
        .map_err(|e| invalid_cert(format!("no PEM certificate found ({e})")))?;
    let issuer = Issuer::from_ca_cert_der(&ca_der, key).map_err(|e| invalid_cert(e.to_string()))?;
    tracing::info!(cert = %cert_path.display(), "reusing existing CA");
    Ok((ca_pem, ca_der, issuer))
}

fn server_params(sans: Vec<SanType>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "ks-apiserver");
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, SERVER_LIFETIME);
    params
}

/// Sets `not_before` to now minus [`CLOCK_SKEW`] and `not_after` to now plus `lifetime`.
fn set_validity(params: &mut CertificateParams, lifetime: Duration) {
    // rcgen takes `time` dates; build them from the epoch so that this crate
    // needs no direct dependency on `time`.
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    params.not_before = epoch + now.saturating_sub(CLOCK_SKEW);
    params.not_after = epoch + now + lifetime;
}

/// Verifies `leaf` against `ca` as a client would, catching a CA key that
/// does not match its certificate, an expired CA, or a certificate that is
/// not a CA, before the server starts handing out a broken chain.
fn check_issued(
    leaf: &CertificateDer<'_>,
    ca: &CertificateDer<'static>,
    provider: &Arc<CryptoProvider>,
) -> Result<(), rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone())?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let name = ServerName::IpAddress(IpAddr::from([127, 0, 0, 1]).into());
    verifier
        .verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
        .map(|_| ())
}

fn create_dir(dir: &Path) -> Result<(), TlsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(io_error("create directory", dir))
}

fn read_to_string(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(io_error("read", path))
}

/// Warns when a private key file is readable by group or others.
fn warn_if_exposed(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "private key is readable by group or others; consider chmod 600"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Replaces `path` with `contents` atomically: a temporary file in the same
/// directory, given `mode` (unix), synced, then renamed over `path`.
fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).map_err(io_error("create a file in", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_error("set the mode of", file.path()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents)
        .and_then(|()| file.as_file().sync_all())
        .map_err(io_error("write", path))?;
    file.persist(path)
        .map_err(|e| io_error("replace", path)(e.error))?;
    // Make the rename itself durable. Best effort: some file systems refuse
    // to sync a directory, and the data is already safe in the file.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The kubeconfig file, as kubectl reads it (`clientcmd/api/v1`).
#[derive(serde::Serialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    clusters: Vec<Named<'a>>,
    users: Vec<NamedUser<'a>>,
    contexts: Vec<NamedContext<'a>>,
    current_context: &'a str,
    preferences: Preferences,
}

#[derive(serde::Serialize)]
struct Named<'a> {
    name: &'a str,
    cluster: Cluster<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "kebab-case")]
struct Cluster<'a> {
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_authority_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    insecure_skip_tls_verify: Option<bool>,
}

#[derive(serde::Serialize)]
struct NamedUser<'a> {
    name: &'a str,
    user: User<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "kebab-case")]
struct User<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_certificate_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

fn b64(pem: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(pem)
}

/// How the kubeconfig's user authenticates.
#[derive(Debug)]
pub enum KubeconfigCredentials {
    /// A client certificate (HTTPS).
    ClientCertificate(ClientCertificate),
    /// A bearer token (plain HTTP, where no certificate can be presented).
    Token(String),
}

#[derive(serde::Serialize)]
struct NamedContext<'a> {
    name: &'a str,
    context: Context<'a>,
}

#[derive(serde::Serialize)]
struct Context<'a> {
    cluster: &'a str,
    user: &'a str,
}

#[derive(serde::Serialize)]
struct Preferences {}

/// Wraps an [`io::Error`] with what was being done and to which path.
fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> TlsError {
    move |source| TlsError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{ClientConfig, ProtocolVersion, SupportedProtocolVersion};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
    const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

    /// What the client saw of a completed connection.
    #[derive(Debug)]
    struct Session {
        alpn: Option<Vec<u8>>,
        version: Option<ProtocolVersion>,
    }

    /// A rustls client that trusts only `ca_pem`, as kube-rs would with the kubeconfig.
    fn client_config(
        ca_pem: &str,
        versions: &[&'static SupportedProtocolVersion],
    ) -> Result<Arc<ClientConfig>, Box<dyn std::error::Error>> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // What Go's net/http offers.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Runs a handshake plus one round trip over an in-memory pipe.
    async fn connect(
        server: &TlsMaterial,
        client: Arc<ClientConfig>,
        name: &str,
    ) -> Result<Session, io::Error> {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let acceptor = TlsAcceptor::from(server.server_config.clone());
        let connector = TlsConnector::from(client);
        let name = ServerName::try_from(name.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let serve = async {
            let mut stream = acceptor.accept(server_io).await?;
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await?;
            stream.write_all(&buf).await?;
            stream.flush().await
        };
        let dial = async {
            let mut stream = connector.connect(name, client_io).await?;
            let (_, conn) = stream.get_ref();
            let session = Session {
                alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
                version: conn.protocol_version(),
            };
            stream.write_all(b"ping").await?;
            stream.flush().await?;
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"ping");
            Ok::<_, io::Error>(session)
        };
        let (served, dialed) = tokio::join!(serve, dial);
        let session = dialed?;
        served?;
        Ok(session)
    }

    fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
        err.get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
    }

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| (*h).to_owned()).collect()
    }

    #[tokio::test]
    async fn handshakes_for_default_and_requested_names_over_tls12_and_tls13() -> TestResult {
        let dir = tempfile::tempdir()?;
        let material = load_or_create(dir.path(), &hosts(&["ks.example.com", "10.1.2.3"]))?;
        for (versions, expected) in [
            (TLS13, ProtocolVersion::TLSv1_3),
            (TLS12, ProtocolVersion::TLSv1_2),
        ] {
            let client = client_config(&material.ca_pem, versions)?;
            for name in [
                "localhost",
                "127.0.0.1",
                "::1",
                "ks.example.com",
                "10.1.2.3",
            ] {
                let session = connect(&material, client.clone(), name).await?;
                assert_eq!(session.alpn.as_deref(), Some(&b"http/1.1"[..]), "{name}");
                assert_eq!(session.version, Some(expected), "{name}");
            }
        }
        Ok(())
    }

    #[tokio::test]
    async fn rejects_a_name_not_in_the_certificate() -> TestResult {
        let dir = tempfile::tempdir()?;
        let material = load_or_create(dir.path(), &[])?;
        let client = client_config(&material.ca_pem, TLS13)?;
        let err = connect(&material, client, "example.org")
            .await
            .err()
            .ok_or("handshake for example.org succeeded")?;
        assert!(
            matches!(
                rustls_error(&err),
                Some(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                ))
            ),
            "{err:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn rejects_a_client_trusting_another_ca() -> TestResult {
        let (ours, theirs) = (tempfile::tempdir()?, tempfile::tempdir()?);
        let material = load_or_create(ours.path(), &[])?;
        let other = load_or_create(theirs.path(), &[])?;
        let client = client_config(&other.ca_pem, TLS13)?;
        let err = connect(&material, client, "localhost")
            .await
            .err()
            .ok_or("handshake with an untrusted CA succeeded")?;
        assert!(
            matches!(
                rustls_error(&err),
                Some(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                ))
            ),
            "{err:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn second_start_keeps_the_ca_and_reissues_the_server_certificate() -> TestResult {
        let dir = tempfile::tempdir()?;
        let first = load_or_create(dir.path(), &[])?;
        let ca_before = fs::read(dir.path().join(CA_CERT_FILE))?;
        let ca_key_before = fs::read(dir.path().join(CA_KEY_FILE))?;
        let leaf_before = fs::read(dir.path().join(SERVER_CERT_FILE))?;
        assert_eq!(ca_before, first.ca_pem.as_bytes());

        let second = load_or_create(dir.path(), &hosts(&["ks.example.com"]))?;
        assert_eq!(fs::read(dir.path().join(CA_CERT_FILE))?, ca_before);
        assert_eq!(fs::read(dir.path().join(CA_KEY_FILE))?, ca_key_before);
        assert_ne!(fs::read(dir.path().join(SERVER_CERT_FILE))?, leaf_before);
        assert_eq!(second.ca_pem, first.ca_pem);

        // A client configured from the first start still trusts the second.
        let client = client_config(&first.ca_pem, TLS13)?;
        connect(&second, client.clone(), "localhost").await?;
        connect(&second, client, "ks.example.com").await?;
        Ok(())
    }

    #[test]
    fn corrupt_ca_key_is_an_error_naming_it_and_nothing_is_regenerated() -> TestResult {
        let dir = tempfile::tempdir()?;
        load_or_create(dir.path(), &[])?;
        let ca_before = fs::read(dir.path().join(CA_CERT_FILE))?;
        let key_path = dir.path().join(CA_KEY_FILE);
        fs::write(
            &key_path,
            "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        )?;

        let err = load_or_create(dir.path(), &[])
            .err()
            .ok_or("corrupt ca.key accepted")?;
        assert!(
            matches!(&err, TlsError::InvalidCaKey { path, .. } if *path == key_path),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&key_path.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read(dir.path().join(CA_CERT_FILE))?, ca_before);
        Ok(())
    }

    #[test]
    fn corrupt_ca_cert_is_an_error_naming_it() -> TestResult {
        let dir = tempfile::tempdir()?;
        load_or_create(dir.path(), &[])?;
        let cert_path = dir.path().join(CA_CERT_FILE);
        for garbage in [
            "not pem at all",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            fs::write(&cert_path, garbage)?;
            let err = load_or_create(dir.path(), &[])
                .err()
                .ok_or("corrupt ca.crt accepted")?;
            assert!(
                matches!(&err, TlsError::InvalidCaCert { path, .. } if *path == cert_path),
                "{err:?}"
            );
            assert!(
                err.to_string().contains(&cert_path.display().to_string()),
                "{err}"
            );
        }
        Ok(())
    }

    #[test]
    fn ca_key_of_another_ca_is_reported_as_a_mismatch() -> TestResult {
        let (ours, theirs) = (tempfile::tempdir()?, tempfile::tempdir()?);
        load_or_create(ours.path(), &[])?;
        load_or_create(theirs.path(), &[])?;
        fs::copy(
            theirs.path().join(CA_KEY_FILE),
            ours.path().join(CA_KEY_FILE),
        )?;
        let err = load_or_create(ours.path(), &[])
            .err()
            .ok_or("foreign ca.key accepted")?;
        assert!(matches!(err, TlsError::CaKeyMismatch { .. }), "{err:?}");
        Ok(())
    }

    #[test]
    fn half_a_ca_is_an_error_naming_the_missing_file() -> TestResult {
        for missing in [CA_CERT_FILE, CA_KEY_FILE] {
            let dir = tempfile::tempdir()?;
            load_or_create(dir.path(), &[])?;
            fs::remove_file(dir.path().join(missing))?;
            let err = load_or_create(dir.path(), &[])
                .err()
                .ok_or("half a CA accepted")?;
            assert!(
                matches!(&err, TlsError::IncompleteCa { missing: m, .. } if m.ends_with(missing)),
                "{err:?}"
            );
            assert!(
                !dir.path().join(missing).exists(),
                "{missing} was regenerated"
            );
        }
        Ok(())
    }

    #[test]
    fn hosts_are_validated_and_deduplicated() -> TestResult {
        let sans = subject_alt_names(&hosts(&[
            "LocalHost",
            "[::1]",
            "*.svc.example",
            "127.0.0.1",
        ]))?;
        assert_eq!(sans.len(), 4, "{sans:?}"); // localhost, ::1, *.svc.example, 127.0.0.1
        for bad in ["", "bad host", "host:6443", "http://x", "ex*mple.com"] {
            let err = subject_alt_names(&hosts(&[bad])).err().ok_or(bad)?;
            assert!(
                matches!(&err, TlsError::InvalidHost { host } if host == bad),
                "{err:?}"
            );
        }
        let dir = tempfile::tempdir()?;
        let err = load_or_create(dir.path(), &hosts(&["bad host"]))
            .err()
            .ok_or("bad host accepted")?;
        assert!(matches!(err, TlsError::InvalidHost { .. }));
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn private_keys_and_directory_are_private() -> TestResult {
        use std::os::unix::fs::PermissionsExt as _;
        let parent = tempfile::tempdir()?;
        let dir = parent.path().join("data").join("tls");
        load_or_create(&dir, &[])?;
        let mode =
            |name: &str| fs::metadata(dir.join(name)).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(CA_KEY_FILE)?, 0o600);
        assert_eq!(mode(SERVER_KEY_FILE)?, 0o600);
        assert_eq!(mode(CA_CERT_FILE)?, 0o644);
        assert_eq!(fs::metadata(&dir)?.permissions().mode() & 0o777, 0o700);
        let leftovers: Vec<_> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        Ok(())
    }

    fn load_yaml(path: &Path) -> Result<serde_norway::Value, Box<dyn std::error::Error>> {
        Ok(serde_norway::from_str(&fs::read_to_string(path)?)?)
    }

    #[test]
    fn kubeconfig_trusts_the_ca() -> TestResult {
        let dir = tempfile::tempdir()?;
        let material = load_or_create(&dir.path().join("tls"), &[])?;
        let path = dir.path().join("kubeconfig");
        // An existing, more open file is replaced, mode included.
        fs::write(&path, "old")?;
        let client = material.client_certificate("admin", Some("team-a"))?;
        write_kubeconfig(
            &path,
            "https://127.0.0.1:6443",
            Some(&material.ca_pem),
            &KubeconfigCredentials::ClientCertificate(client.clone()),
        )?;
        let config = load_yaml(&path)?;
        assert_eq!(config["apiVersion"], "v1");
        assert_eq!(config["kind"], "Config");
        assert_eq!(config["current-context"], "ks-rs");
        let cluster = &config["clusters"][0];
        assert_eq!(cluster["name"], "ks-rs");
        assert_eq!(cluster["cluster"]["server"], "https://127.0.0.1:6443");
        let ca_data = cluster["cluster"]["certificate-authority-data"]
            .as_str()
            .ok_or("no CA data")?;
        assert_eq!(
            base64::engine::general_purpose::STANDARD.decode(ca_data)?,
            material.ca_pem.as_bytes()
        );
        assert!(cluster["cluster"].get("insecure-skip-tls-verify").is_none());
        assert_eq!(config["contexts"][0]["name"], "ks-rs");
        assert_eq!(config["contexts"][0]["context"]["cluster"], "ks-rs");
        assert_eq!(config["contexts"][0]["context"]["user"], "ks-rs-admin");
        assert_eq!(config["users"][0]["name"], "ks-rs-admin");
        // The client certificate and its key, nothing else.
        let user = config["users"][0]["user"]
            .as_mapping()
            .ok_or("user is not a mapping")?;
        assert_eq!(user.len(), 2, "{user:?}");
        let decode = |key: &str| -> Result<String, Box<dyn std::error::Error>> {
            let data = user[key].as_str().ok_or("not a string")?;
            Ok(String::from_utf8(
                base64::engine::general_purpose::STANDARD.decode(data)?,
            )?)
        };
        assert_eq!(decode("client-certificate-data")?, client.cert_pem);
        assert_eq!(decode("client-key-data")?, client.key_pem);
        // The certificate names the user and groups, as the server reads it.
        let der = CertificateDer::from_pem_slice(client.cert_pem.as_bytes())?;
        assert_eq!(
            certificate_identity(&der),
            Some(crate::context::CertificateIdentity {
                user: "admin".into(),
                groups: vec!["team-a".into()],
            })
        );
        assert_eq!(config["clusters"].as_sequence().map(Vec::len), Some(1));
        assert_eq!(config["users"].as_sequence().map(Vec::len), Some(1));
        assert_eq!(config["contexts"].as_sequence().map(Vec::len), Some(1));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        }
        Ok(())
    }

    #[test]
    fn kubeconfig_for_plain_http_has_no_ca() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested").join("kubeconfig");
        write_kubeconfig(
            &path,
            "http://localhost:8080",
            None,
            &KubeconfigCredentials::Token("t0ken".into()),
        )?;
        let config = load_yaml(&path)?;
        assert_eq!(config["users"][0]["user"]["token"], "t0ken");
        let cluster = &config["clusters"][0]["cluster"];
        assert_eq!(cluster["server"], "http://localhost:8080");
        assert_eq!(cluster["insecure-skip-tls-verify"], false);
        assert!(cluster.get("certificate-authority-data").is_none());
        Ok(())
    }

    #[test]
    fn kubeconfig_server_url_is_validated_and_quoted() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("kubeconfig");
        let none = KubeconfigCredentials::Token(String::new());
        for bad in [
            "",
            "127.0.0.1:6443",
            "https://",
            "https://host\n  evil: true",
            "ftp://host",
        ] {
            let err = write_kubeconfig(&path, bad, None, &none).err().ok_or(bad)?;
            assert!(
                matches!(&err, TlsError::InvalidServerUrl { url, .. } if url == bad),
                "{err:?}"
            );
        }
        assert!(!path.exists());
        let odd = r#"https://[::1]:6443/a"b\c#d:e'f"#;
        write_kubeconfig(&path, odd, None, &none)?;
        assert_eq!(load_yaml(&path)?["clusters"][0]["cluster"]["server"], odd);
        Ok(())
    }
}
