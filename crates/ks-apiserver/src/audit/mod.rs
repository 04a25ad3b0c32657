//! Auditing: one record of every request, as Kubernetes' audit log and
//! KubeSphere's auditing webhook keep them.
//!
//! - [`AuditLayer`] wraps the filters after request info (authentication,
//!   impersonation, authorization, dispatch). It reads the request's
//!   [`RequestRecord`](crate::context::RequestRecord) and, once the
//!   response is done, hands an [`AuditEvent`] to the [`Auditor`]: who
//!   asked (and as whom), what for, what the authorizer decided, the
//!   response code, and at the `Request` and `RequestResponse` levels the
//!   request and response objects.
//! - [`Auditor`] is the cheap handle the layer records through. Recording
//!   never blocks and never fails a request: events go into a bounded
//!   queue, and when it is full they are dropped and counted
//!   ([`AuditStats`]). A writer thread turns the queue into one JSON line
//!   per event (`audit.k8s.io/v1` `Event`s, rotated by size), and a task
//!   posts batches to KubeSphere's auditing webhook when one is configured.
//!
//! What is never recorded, whatever the level: the bodies of `/oauth/*`
//! requests and responses (passwords, tokens) and their query strings;
//! the objects of Secrets, ConfigMaps, TokenReviews, service account
//! tokens, kubeconfigs and KubeSphere users (passwords), which are audited
//! at `Metadata` only; and any header but `User-Agent`. Health probes are
//! not audited at all. [`policy`] holds these rules.
//!
//! ```no_run
//! # async fn demo(router: axum::Router) -> Result<(), ks_apiserver::audit::AuditError> {
//! use ks_apiserver::audit::{AuditConfig, AuditLayer, AuditLevel, AuditSink, Auditor};
//!
//! let config = AuditConfig {
//!     level: AuditLevel::Request,
//!     sink: Some(AuditSink::Path("/var/log/ks/audit.log".into())),
//!     ..AuditConfig::default()
//! };
//! let (auditor, task) = Auditor::spawn(config)?;
//! let router = router.layer(AuditLayer::new(auditor));
//! // ... serve, then on shutdown:
//! task.shutdown().await;
//! # drop(router); Ok(()) }
//! ```

mod event;
mod layer;
pub mod policy;
mod sink;
mod webhook;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use event::{
    ANNOTATION_DECISION, ANNOTATION_REASON, AuditEvent, KubeSphereEvent, ObjectReference,
    ResponseStatus, Stage, format_micro_time,
};
pub use layer::{AuditLayer, AuditService};
pub use policy::is_long_running;
pub use sink::{AuditStats, AuditTask, Auditor};

/// How much of a request is recorded (Kubernetes' audit levels, ordered).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum AuditLevel {
    /// Nothing.
    None,
    /// Who did what, when, and the outcome; no bodies.
    #[default]
    Metadata,
    /// Metadata and the request object (resource requests only).
    Request,
    /// Metadata, the request object and the response object (resource
    /// requests only).
    RequestResponse,
}

impl AuditLevel {
    /// The name Kubernetes uses: `None`, `Metadata`, `Request`,
    /// `RequestResponse`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditLevel::None => "None",
            AuditLevel::Metadata => "Metadata",
            AuditLevel::Request => "Request",
            AuditLevel::RequestResponse => "RequestResponse",
        }
    }
}

impl std::fmt::Display for AuditLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditLevel {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "None" => Ok(AuditLevel::None),
            "Metadata" => Ok(AuditLevel::Metadata),
            "Request" => Ok(AuditLevel::Request),
            "RequestResponse" => Ok(AuditLevel::RequestResponse),
            other => Err(AuditError::Config(format!(
                "unknown audit level {other:?} (expected None, Metadata, Request or RequestResponse)"
            ))),
        }
    }
}

/// Where the audit log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditSink {
    /// Standard output (`-`, as kube-apiserver's `--audit-log-path -`).
    Stdout,
    /// A file, rotated by size.
    Path(PathBuf),
}

impl FromStr for AuditSink {
    type Err = std::convert::Infallible;

    /// `-` is standard output; anything else a file path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "-" {
            AuditSink::Stdout
        } else {
            AuditSink::Path(PathBuf::from(s))
        })
    }
}

/// KubeSphere's auditing webhook (`auditing.webhookUrl`): batches of
/// events posted as `{"Items":[...]}`.
///
/// `http://` URLs are posted in clear; `https://` ones need `ca_pem`, the
/// CA that signed the webhook's certificate (there are no system roots to
/// fall back on, and KubeSphere's own habit of skipping verification is
/// not copied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The URL events are posted to.
    pub url: String,
    /// The CA bundle (PEM) an `https://` webhook's certificate is checked
    /// against.
    pub ca_pem: Option<String>,
    /// The most events in one POST (KubeSphere: 100).
    pub batch_size: usize,
    /// How long a batch waits to fill before it is sent.
    pub batch_interval: Duration,
    /// How long one POST may take, connecting included (KubeSphere: 3 s).
    pub timeout: Duration,
}

impl WebhookConfig {
    /// A webhook at `url` with the defaults: batches of 100, sent at least
    /// every second, 3 s per POST.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookConfig {
            url: url.into(),
            ca_pem: None,
            batch_size: 100,
            batch_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(3),
        }
    }
}

/// How requests are audited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditConfig {
    /// The level every audited request is recorded at (some requests are
    /// capped at `Metadata`, see [`policy`]).
    pub level: AuditLevel,
    /// The log; `None` keeps no log (webhook only).
    pub sink: Option<AuditSink>,
    /// A log file is rotated before it would grow past this (default
    /// 100 MiB).
    pub max_size_bytes: u64,
    /// Rotated files kept: `audit.log.1` (newest) to `audit.log.N`
    /// (default 5); older ones are deleted.
    pub max_backups: usize,
    /// KubeSphere's auditing webhook, if any.
    pub webhook: Option<WebhookConfig>,
    /// Events waiting to be written (default 10,000); when the queue is
    /// full, new events are dropped and counted.
    pub queue_capacity: usize,
    /// The largest request or response body recorded as an object
    /// (default 64 KiB); a larger one is omitted, with an annotation
    /// saying so.
    pub max_body_bytes: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            level: AuditLevel::Metadata,
            sink: None,
            max_size_bytes: 100 * 1024 * 1024,
            max_backups: 5,
            webhook: None,
            queue_capacity: 10_000,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Why auditing could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A refused setting.
    #[error("audit configuration: {0}")]
    Config(String),
    /// The log file could not be opened.
    #[error("audit log {path}: {source}")]
    Log {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("starting the audit writer: {0}")]
    Thread(std::io::Error),
}
