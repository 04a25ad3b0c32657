//! A small HTTP/1.1 client for ks-apiserver's OAuth endpoints: one
//! request per connection, hyper's connection API over TCP, or over TLS
//! (rustls with the ring provider) trusting exactly the CA the user chose.
//!
//! ks-apiserver serves with its own CA, so no system roots are loaded: a
//! server whose certificate does not chain to the chosen CA is refused
//! with [`TlsProblem::UnknownAuthority`], whose message says how to pass
//! the CA. Responses are bounded ([`MAX_RESPONSE_BYTES`]) and every
//! exchange is bounded in time ([`REQUEST_TIMEOUT`]).

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// The largest response body read (OAuth answers are a few hundred bytes).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How long one exchange (resolve, connect, handshake, request, response)
/// may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (ks-apiserver's `--plain-http`, loopback only).
    Http,
    /// HTTPS.
    Https,
}

/// A server's base URL, parsed: `https://host:port[/prefix]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    scheme: Scheme,
    /// The host, without IPv6 brackets.
    host: String,
    port: u16,
    /// The path prefix, without a trailing `/` (usually empty).
    prefix: String,
    /// The URL as written into kubeconfigs.
    url: String,
}

impl ServerUrl {
    /// Parses `SERVER`: a URL (`https://host:port`), or `host[:port]`,
    /// which means HTTPS. The default ports are 443 and 80. A path is a
    /// prefix for every request; user info, a query or a fragment is
    /// refused.
    pub fn parse(text: &str) -> Result<ServerUrl, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the server URL is empty".to_owned());
        }
        let full = if text.contains("://") {
            text.to_owned()
        } else {
            format!("https://{text}")
        };
        let uri: http::Uri = full
            .parse()
            .map_err(|e| format!("invalid server URL {text:?}: {e}"))?;
        let scheme = match uri.scheme_str() {
            Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            Some(other) => {
                return Err(format!(
                    "invalid server URL {text:?}: the scheme must be https or http, not {other}"
                ));
            }
            None => return Err(format!("invalid server URL {text:?}: no scheme")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("invalid server URL {text:?}: no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "invalid server URL {text:?}: user information is not allowed (use --username)"
            ));
        }
        if uri.query().is_some() || full.contains('#') {
            return Err(format!(
                "invalid server URL {text:?}: a query or fragment is not allowed"
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(format!("invalid server URL {text:?}: no host"));
        }
        let port = authority.port_u16().unwrap_or(match scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        });
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let scheme_name = match scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        let url = format!("{scheme_name}://{}{prefix}", authority.as_str());
        Ok(ServerUrl {
            scheme,
            host,
            port,
            prefix,
            url,
        })
    }

    /// The URL, normalized (a scheme, no trailing `/`).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `host:port`, with the default port spelled out and IPv6 hosts in
    /// brackets: what names the server's kubeconfig entries.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the host is a loopback address or `localhost`.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Which server certificates are accepted over HTTPS.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    /// Certificates that chain to these CA certificates (PEM text, as
    /// read; kept to be written into kubeconfigs).
    Ca(String),
    /// Any certificate (`--insecure-skip-tls-verify`): the handshake's
    /// signature is still checked, the certificate chain and name are not.
    InsecureSkipVerify,
    /// No CA was given: every HTTPS server is refused as unknown (plain
    /// HTTP needs none).
    Nothing,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trust::Ca(pem) => write!(f, "Ca({} bytes of PEM)", pem.len()),
            Trust::InsecureSkipVerify => f.write_str("InsecureSkipVerify"),
            Trust::Nothing => f.write_str("Nothing"),
        }
    }
}

impl Trust {
    /// The CA certificates in `pem`, checked: at least one certificate,
    /// each well-formed.
    pub fn from_pem(pem: &str) -> Result<Trust, String> {
        parse_certificates(pem)?;
        Ok(Trust::Ca(pem.to_owned()))
    }
}

fn parse_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) found".to_owned());
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in &certs {
        roots
            .add(cert.clone())
            .map_err(|e| format!("an unusable CA certificate: {e}"))?;
    }
    Ok(certs)
}

/// Why a TLS handshake failed, as far as the user can act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The certificate does not chain to the trusted CA.
    UnknownAuthority,
    /// The certificate is not valid for the host name or address.
    NameMismatch,
    /// The certificate has expired or is not valid yet.
    NotCurrentlyValid,
    /// What came back was not TLS (a plain-HTTP server?).
    NotTls,
    /// Anything else rustls reported.
    Other(String),
}

/// Why an exchange with the server failed before an HTTP answer came.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The CA certificates could not be used.
    #[error("{0}")]
    Setup(String),
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// No address of the server accepted a connection.
    #[error("{}", connect_message(.server, .source))]
    Connect {
        /// The server.
        server: String,
        /// The last connection error.
        source: io::Error,
    },
    /// The TLS handshake failed.
    #[error("{}", tls_message(.server, .problem))]
    Tls {
        /// The server.
        server: String,
        /// What went wrong.
        problem: TlsProblem,
    },
    /// The exchange took longer than [`REQUEST_TIMEOUT`].
    #[error("{server} did not answer within {}s", .after.as_secs())]
    Timeout {
        /// The server.
        server: String,
        /// The time allowed.
        after: Duration,
    },
    /// The HTTP exchange failed (connection closed, malformed answer, a
    /// body over [`MAX_RESPONSE_BYTES`]).
    #[error("{server}: {detail}{}", if *.plain_http { " (is the server HTTPS? use an https:// URL)" } else { "" })]
    Http {
        /// The server.
        server: String,
        /// What failed.
        detail: String,
        /// Whether the request was plain HTTP (then the hint says HTTPS).
        plain_http: bool,
    },
}

fn connect_message(server: &str, source: &io::Error) -> String {
    match source.kind() {
        io::ErrorKind::ConnectionRefused => {
            format!("connection refused by {server}: is ks-apiserver running and listening there?")
        }
        _ => format!("cannot connect to {server}: {source}"),
    }
}

fn tls_message(server: &str, problem: &TlsProblem) -> String {
    match problem {
        TlsProblem::UnknownAuthority => format!(
            "TLS: the certificate of {server} is signed by an unknown authority; pass the \
             server's CA with --certificate-authority FILE (ks-apiserver's DATA/pki/ca.crt) \
             or --ca-from-kubeconfig FILE (e.g. its DATA/kubeconfig)"
        ),
        TlsProblem::NameMismatch => format!(
            "TLS: the certificate of {server} is not valid for that host name or address; \
             use the name the certificate was issued for"
        ),
        TlsProblem::NotCurrentlyValid => format!(
            "TLS: the certificate of {server} has expired or is not valid yet (check the clocks)"
        ),
        TlsProblem::NotTls => format!(
            "TLS: {server} did not answer in TLS (is it a plain-HTTP server? use an http:// URL)"
        ),
        TlsProblem::Other(detail) => format!("TLS handshake with {server} failed: {detail}"),
    }
}

/// A response: status, headers and the (bounded) body.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// Talks to one server.
#[derive(Clone)]
pub struct HttpClient {
    server: ServerUrl,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("server", &self.server.url)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl HttpClient {
    /// A client of `server` accepting the certificates `trust` says (HTTPS
    /// only; plain HTTP ignores it).
    pub fn new(server: &ServerUrl, trust: &Trust) -> Result<HttpClient, ClientError> {
        let tls = match server.scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let config = tls_config(trust).map_err(ClientError::Setup)?;
                let name = ServerName::try_from(server.host.clone()).map_err(|e| {
                    ClientError::Setup(format!("{}: not a TLS server name: {e}", server.host))
                })?;
                Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
            }
        };
        Ok(HttpClient {
            server: server.clone(),
            tls,
        })
    }

    /// The server.
    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    /// `POST path` with a form body (`application/x-www-form-urlencoded`).
    pub async fn post_form(&self, path: &str, form: String) -> Result<Reply, ClientError> {
        self.send(
            Method::POST,
            path,
            None,
            Some(("application/x-www-form-urlencoded", form)),
        )
        .await
    }

    /// `GET path`, with a bearer token when given.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Result<Reply, ClientError> {
        self.send(Method::GET, path, bearer, None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<(&'static str, String)>,
    ) -> Result<Reply, ClientError> {
        let request = self.request(method, path, bearer, body)?;
        let exchange = async {
            let tcp = self.connect().await?;
            match &self.tls {
                None => self.exchange(TokioIo::new(tcp), request).await,
                Some((connector, name)) => {
                    let stream = connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| self.tls_error(&e))?;
                    self.exchange(TokioIo::new(stream), request).await
                }
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                server: self.server.url.clone(),
                after: REQUEST_TIMEOUT,
            })?
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<(&'static str, String)>,
    ) -> Result<http::Request<Full<Bytes>>, ClientError> {
        let http_error = |detail: String| ClientError::Http {
            server: self.server.url.clone(),
            detail,
            plain_http: false,
        };
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.server.prefix))
            .header(header::HOST, self.server.host_port())
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("ks/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| http_error("the token is not a valid header value".to_owned()))?;
            value.set_sensitive(true);
            builder = builder.header(header::AUTHORIZATION, value);
        }
        let body = match body {
            Some((content_type, text)) => {
                builder = builder.header(header::CONTENT_TYPE, content_type);
                Bytes::from(text)
            }
            None => Bytes::new(),
        };
        builder
            .body(Full::new(body))
            .map_err(|e| http_error(format!("cannot build the request: {e}")))
    }

    /// Connects to the first address of the host that accepts.
    async fn connect(&self) -> Result<tokio::net::TcpStream, ClientError> {
        let addrs = tokio::net::lookup_host((self.server.host.as_str(), self.server.port))
            .await
            .map_err(|source| ClientError::Resolve {
                host: self.server.host.clone(),
                source,
            })?;
        let mut last = None;
        for addr in addrs {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(ClientError::Connect {
            server: self.server.url.clone(),
            source: last
                .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address found")),
        })
    }

    async fn exchange<T>(
        &self,
        io: T,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Reply, ClientError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let http_error = |detail: String| ClientError::Http {
            server: self.server.url.clone(),
            detail,
            plain_http: self.server.scheme == Scheme::Http,
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| http_error(e.to_string()))?;
        let driver = tokio::spawn(connection);
        let result = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| http_error(e.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| http_error(format!("reading the response: {e}")))?
                .to_bytes();
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        }
        .await;
        driver.abort();
        result
    }

    fn tls_error(&self, e: &io::Error) -> ClientError {
        let problem = match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::InvalidCertificate(cert)) => match cert {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    TlsProblem::UnknownAuthority
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsProblem::NameMismatch,
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => TlsProblem::NotCurrentlyValid,
                other => TlsProblem::Other(format!("invalid certificate: {other:?}")),
            },
            Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }) => {
                TlsProblem::NotTls
            }
            Some(other) => TlsProblem::Other(other.to_string()),
            None => TlsProblem::Other(e.to_string()),
        };
        ClientError::Tls {
            server: self.server.url.clone(),
            problem,
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(trust: &Trust) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let mut config = match trust {
        Trust::Ca(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in parse_certificates(pem)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("an unusable CA certificate: {e}"))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Nothing => builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        Trust::InsecureSkipVerify => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(provider)))
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `--insecure-skip-tls-verify`: accepts any certificate, but still checks
/// that the server holds its key (the handshake signatures).
#[derive(Debug)]
struct AnyServerCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalized() {
        let s = ServerUrl::parse("https://127.0.0.1:6443/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.as_str(), "https://127.0.0.1:6443");
        assert_eq!(s.host_port(), "127.0.0.1:6443");
        assert!(s.is_loopback());

        let s = ServerUrl::parse("ks.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.as_str(), "https://ks.example.com");
        assert_eq!(s.host_port(), "ks.example.com:443");
        assert_eq!(s.scheme(), Scheme::Https);
        assert!(!s.is_loopback());

        let s = ServerUrl::parse("http://[::1]:8080/ks/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.as_str(), "http://[::1]:8080/ks");
        assert_eq!(s.host_port(), "[::1]:8080");
        assert_eq!(s.prefix, "/ks");
        assert!(s.is_loopback());
    }

    #[test]
    fn bad_server_urls_are_refused_with_a_reason() {
        for (url, why) in [
            ("", "empty"),
            ("ftp://host", "scheme"),
            ("https://user:pw@host", "user information"),
            ("https://host/?a=b", "query"),
            ("https://", "invalid server URL"),
        ] {
            let e = ServerUrl::parse(url).expect_err(url);
            assert!(e.contains(why), "{url}: {e}");
        }
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        assert!(Trust::from_pem("").is_err());
        assert!(Trust::from_pem("not a certificate").is_err());
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(Trust::from_pem(garbage).is_err());
    }
}
