//! KubeSphere's auditing webhook: batches of events posted as
//! `{"Items":[...]}` (`Content-Type: application/json`), as KubeSphere
//! 3.4's `auditing.Backend` does: a batch goes when it is full or when
//! its interval has passed since its first event; a failed POST is
//! counted, logged at most once per interval, and dropped, never retried.
//!
//! Each batch opens its own HTTP/1.1 connection with hyper's client
//! connection (at the default rate, one a second), so no pool is needed;
//! `https://` uses rustls with the configured CA.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::sink::AuditStats;
use super::{AuditError, AuditEvent, WebhookConfig};

/// A configured webhook: where, how, and how batches are made.
pub(super) struct Webhook {
    uri: http::Uri,
    host: String,
    port: u16,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    batch_size: usize,
    batch_interval: Duration,
    timeout: Duration,
}

impl Webhook {
    pub(super) fn new(config: &WebhookConfig) -> Result<Self, AuditError> {
        let bad = |why: &str| AuditError::Config(format!("webhook URL {:?}: {why}", config.url));
        let uri: http::Uri = config.url.parse().map_err(|_| bad("not a URL"))?;
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if config.batch_size == 0 {
            return Err(AuditError::Config(
                "webhook batch_size must be at least 1".into(),
            ));
        }
        let tls = if https {
            let pem = config.ca_pem.as_deref().ok_or_else(|| {
                bad("https needs the CA that signed the webhook's certificate (ca_pem; the flag --audit-webhook-ca)")
            })?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| bad(&format!("CA bundle: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(&format!("CA bundle: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad("the CA bundle holds no certificate"));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let client = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| bad(&e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = ServerName::try_from(host.clone()).map_err(|_| bad("invalid host name"))?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(client)), name))
        } else {
            None
        };
        Ok(Webhook {
            uri,
            host,
            port,
            tls,
            batch_size: config.batch_size,
            batch_interval: config.batch_interval,
            timeout: config.timeout,
        })
    }

    /// Sends batches until the queue closes, then sends what is left.
    pub(super) async fn run(self, mut rx: mpsc::Receiver<Box<AuditEvent>>, stats: Arc<AuditStats>) {
        let mut batch: Vec<Box<AuditEvent>> = Vec::with_capacity(self.batch_size);
        let mut last_error_log: Option<Instant> = None;
        let mut open = true;
        while open {
            match rx.recv().await {
                Some(event) => batch.push(event),
                None => break,
            }
            let deadline = tokio::time::Instant::now() + self.batch_interval;
            while batch.len() < self.batch_size {
                tokio::select! {
                    event = rx.recv() => match event {
                        Some(event) => batch.push(event),
                        None => {
                            open = false;
                            break;
                        }
                    },
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            if let Err(e) = self.send(&batch).await {
                stats.add_webhook_failure(batch.len());
                let now = Instant::now();
                if last_error_log.is_none_or(|t| now.duration_since(t) >= self.batch_interval) {
                    last_error_log = Some(now);
                    tracing::warn!(url = %self.uri, error = %e, events = batch.len(), "sending audit events to the webhook failed; they are dropped");
                }
            }
            batch.clear();
        }
    }

    /// One POST of `events`, within the timeout.
    async fn send(&self, events: &[Box<AuditEvent>]) -> Result<(), String> {
        #[derive(serde::Serialize)]
        struct EventList<'a> {
            #[serde(rename = "Items")]
            items: Vec<super::KubeSphereEvent<'a>>,
        }
        let list = EventList {
            items: events.iter().map(|e| e.kubesphere()).collect(),
        };
        let body = serde_json::to_vec(&list).map_err(|e| e.to_string())?;
        match tokio::time::timeout(self.timeout, self.post(Bytes::from(body))).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }

    async fn post(&self, body: Bytes) -> Result<(), String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let authority = self
            .uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let request = http::Request::post(path)
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "ks-apiserver")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let status = match &self.tls {
            None => exchange(TokioIo::new(tcp), request).await?,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS: {e}"))?;
                exchange(TokioIo::new(tls), request).await?
            }
        };
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {status}"))
        }
    }
}

/// Sends `request` on a fresh HTTP/1.1 connection over `io` and reads the
/// whole answer.
async fn exchange<T>(io: T, request: http::Request<Full<Bytes>>) -> Result<http::StatusCode, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let connection = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("sending: {e}"))?;
        let status = response.status();
        // Read the answer so the exchange completes cleanly.
        let _ = response.into_body().collect().await;
        Ok(status)
    }
    .await;
    drop(sender);
    connection.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let bad = |url: &str, ca: Option<&str>| {
            let mut config = WebhookConfig::new(url);
            config.ca_pem = ca.map(str::to_owned);
            Webhook::new(&config).err().map(|e| e.to_string())
        };
        assert_eq!(bad("http://127.0.0.1:8080/audit/webhook/event", None), None);
        assert!(bad("ftp://x/", None).unwrap().contains("http or https"));
        assert!(bad("https://webhook/", None).unwrap().contains("ca_pem"));
        assert!(
            bad("https://webhook/", Some("not a pem"))
                .unwrap()
                .contains("no certificate")
        );
        assert!(bad("/relative", None).is_some());
    }
}
