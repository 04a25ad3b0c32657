//! The [`Auditor`] handle, its bounded queue, and the writer behind it.
//!
//! The writer is a thread of its own (file writes block), reading the
//! queue in bursts: it writes every queued event as a JSON line, flushes
//! when the queue runs dry, and hands each event on to the webhook task
//! without ever waiting for it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::webhook::Webhook;
use super::{AuditConfig, AuditError, AuditEvent, AuditLevel, AuditSink};

/// Counters of what happened to recorded events.
#[derive(Debug, Default)]
pub struct AuditStats {
    recorded: AtomicU64,
    dropped: AtomicU64,
    write_failures: AtomicU64,
    webhook_failures: AtomicU64,
    webhook_dropped: AtomicU64,
}

impl AuditStats {
    /// Events accepted into the queue.
    pub fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }

    /// Events dropped because the queue was full (or auditing had shut
    /// down).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events the log could not be written with (I/O errors).
    pub fn write_failures(&self) -> u64 {
        self.write_failures.load(Ordering::Relaxed)
    }

    /// Webhook POSTs that failed (connection, TLS, timeout, or a status
    /// other than 2xx). Failed batches are not retried.
    pub fn webhook_failures(&self) -> u64 {
        self.webhook_failures.load(Ordering::Relaxed)
    }

    /// Events the webhook never received: in failed batches, or dropped
    /// because the webhook fell behind.
    pub fn webhook_dropped(&self) -> u64 {
        self.webhook_dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn add_webhook_failure(&self, events: usize) {
        self.webhook_failures.fetch_add(1, Ordering::Relaxed);
        self.webhook_dropped
            .fetch_add(events as u64, Ordering::Relaxed);
    }
}

enum Message {
    Event(Box<AuditEvent>),
    /// Reply once everything queued before is written and flushed.
    Flush(oneshot::Sender<()>),
    /// Write what is queued, stop accepting, and reply.
    Shutdown(oneshot::Sender<()>),
}

/// The handle requests are audited through: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct Auditor {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    tx: Option<mpsc::Sender<Message>>,
    level: AuditLevel,
    max_body_bytes: usize,
    stats: Arc<AuditStats>,
}

/// The background work of an [`Auditor`]: the writer thread and the
/// webhook task. Call [`AuditTask::shutdown`] to write out what is queued.
#[derive(Debug)]
pub struct AuditTask {
    tx: Option<mpsc::Sender<Message>>,
    writer: Option<std::thread::JoinHandle<()>>,
    webhook: Option<tokio::task::JoinHandle<()>>,
    webhook_timeout: Duration,
}

impl Auditor {
    /// Starts auditing with `config`: opens the log, starts the writer
    /// thread and, when a webhook is configured, its task (so this must be
    /// called within a tokio runtime when `config.webhook` is set).
    ///
    /// At level `None` nothing is started and the auditor records nothing.
    pub fn spawn(config: AuditConfig) -> Result<(Auditor, AuditTask), AuditError> {
        let stats = Arc::new(AuditStats::default());
        if config.level == AuditLevel::None {
            let auditor = Auditor {
                inner: Arc::new(Shared {
                    tx: None,
                    level: AuditLevel::None,
                    max_body_bytes: config.max_body_bytes,
                    stats,
                }),
            };
            let task = AuditTask {
                tx: None,
                writer: None,
                webhook: None,
                webhook_timeout: Duration::ZERO,
            };
            return Ok((auditor, task));
        }
        if config.queue_capacity == 0 {
            return Err(AuditError::Config(
                "queue_capacity must be at least 1".into(),
            ));
        }
        let log = match &config.sink {
            None => None,
            Some(AuditSink::Stdout) => Some(Log::Stdout),
            Some(AuditSink::Path(path)) => Some(Log::File(RotatingFile::open(
                path.clone(),
                config.max_size_bytes,
                config.max_backups,
            )?)),
        };
        let (webhook_tx, webhook, webhook_timeout) = match &config.webhook {
            None => (None, None, Duration::ZERO),
            Some(wh) => {
                let webhook = Webhook::new(wh)?;
                let (tx, rx) = mpsc::channel(config.queue_capacity);
                let task = tokio::spawn(webhook.run(rx, Arc::clone(&stats)));
                (Some(tx), Some(task), wh.timeout)
            }
        };
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let writer = Writer {
            rx,
            log,
            webhook: webhook_tx,
            stats: Arc::clone(&stats),
            last_error_log: None,
        };
        let writer = std::thread::Builder::new()
            .name("ks-audit-writer".into())
            .spawn(move || writer.run())
            .map_err(AuditError::Thread)?;
        let auditor = Auditor {
            inner: Arc::new(Shared {
                tx: Some(tx.clone()),
                level: config.level,
                max_body_bytes: config.max_body_bytes,
                stats,
            }),
        };
        let task = AuditTask {
            tx: Some(tx),
            writer: Some(writer),
            webhook,
            webhook_timeout,
        };
        Ok((auditor, task))
    }

    /// An auditor that records nothing (level `None`).
    pub fn disabled() -> Auditor {
        Auditor {
            inner: Arc::new(Shared {
                tx: None,
                level: AuditLevel::None,
                max_body_bytes: 0,
                stats: Arc::new(AuditStats::default()),
            }),
        }
    }

    /// Queues `event` to be written. Never blocks and never fails: when
    /// the queue is full the event is dropped and counted.
    pub fn record(&self, event: AuditEvent) {
        let Some(tx) = &self.inner.tx else { return };
        match tx.try_send(Message::Event(Box::new(event))) {
            Ok(()) => {
                self.inner.stats.recorded.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.inner.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The configured level.
    pub fn level(&self) -> AuditLevel {
        self.inner.level
    }

    /// The largest body recorded as an object.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// The counters (for `/metrics`).
    pub fn stats(&self) -> Arc<AuditStats> {
        Arc::clone(&self.inner.stats)
    }

    /// Waits until every event recorded before this call is written to
    /// the log and flushed (the webhook may still be sending).
    pub async fn flush(&self) {
        let Some(tx) = &self.inner.tx else { return };
        let (reply, done) = oneshot::channel();
        if tx.send(Message::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}

impl AuditTask {
    /// Stops auditing: writes out every queued event, sends the webhook's
    /// last batch (waiting at most its timeout for it), and ends the
    /// background work. Events recorded afterwards are dropped and
    /// counted.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.tx.take() {
            let (reply, done) = oneshot::channel();
            if tx.send(Message::Shutdown(reply)).await.is_ok() {
                let _ = done.await;
            }
        }
        if let Some(writer) = self.writer.take() {
            // It has replied; joining only reaps the thread.
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        if let Some(webhook) = self.webhook.take() {
            let grace = self.webhook_timeout + Duration::from_secs(1);
            if tokio::time::timeout(grace, webhook).await.is_err() {
                tracing::warn!("the audit webhook did not finish its last batch in time");
            }
        }
    }
}

enum Log {
    Stdout,
    File(RotatingFile),
}

impl Log {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        match self {
            Log::Stdout => io::stdout().lock().write_all(line),
            Log::File(file) => file.write_line(line),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Log::Stdout => io::stdout().lock().flush(),
            Log::File(file) => file.flush(),
        }
    }
}

struct Writer {
    rx: mpsc::Receiver<Message>,
    log: Option<Log>,
    webhook: Option<mpsc::Sender<Box<AuditEvent>>>,
    stats: Arc<AuditStats>,
    last_error_log: Option<Instant>,
}

impl Writer {
    fn run(mut self) {
        let mut line = Vec::with_capacity(4096);
        while let Some(message) = self.rx.blocking_recv() {
            let mut next = Some(message);
            // Write the whole burst, then flush once.
            while let Some(message) = next.take() {
                match message {
                    Message::Event(event) => self.write(event, &mut line),
                    Message::Flush(reply) => {
                        self.flush();
                        let _ = reply.send(());
                    }
                    Message::Shutdown(reply) => {
                        self.rx.close();
                        while let Ok(message) = self.rx.try_recv() {
                            match message {
                                Message::Event(event) => self.write(event, &mut line),
                                Message::Flush(reply) | Message::Shutdown(reply) => {
                                    let _ = reply.send(());
                                }
                            }
                        }
                        self.flush();
                        // Closing the webhook's queue makes it send its
                        // last batch and stop.
                        self.webhook = None;
                        let _ = reply.send(());
                        return;
                    }
                }
                next = self.rx.try_recv().ok();
            }
            self.flush();
        }
        self.flush();
    }

    fn write(&mut self, event: Box<AuditEvent>, line: &mut Vec<u8>) {
        if let Some(log) = &mut self.log {
            line.clear();
            let result = serde_json::to_writer(&mut *line, &*event)
                .map_err(io::Error::other)
                .and_then(|()| {
                    line.push(b'\n');
                    log.write_line(line)
                });
            if let Err(e) = result {
                self.stats.write_failures.fetch_add(1, Ordering::Relaxed);
                self.warn(&e);
            }
        }
        if let Some(webhook) = &self.webhook
            && webhook.try_send(event).is_err()
        {
            self.stats.webhook_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&mut self) {
        if let Some(log) = &mut self.log
            && let Err(e) = log.flush()
        {
            self.stats.write_failures.fetch_add(1, Ordering::Relaxed);
            self.warn(&e);
        }
    }

    /// Logs a write error at most once a minute.
    fn warn(&mut self, e: &io::Error) {
        let now = Instant::now();
        if self
            .last_error_log
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60))
        {
            self.last_error_log = Some(now);
            tracing::warn!(error = %e, "writing the audit log failed; events are being lost");
        }
    }
}

/// A log file rotated by size: `audit.log` is renamed `audit.log.1`,
/// `.1` becomes `.2`, ..., and the oldest beyond `max_backups` is
/// replaced.
struct RotatingFile {
    path: PathBuf,
    file: BufWriter<File>,
    size: u64,
    max_size: u64,
    max_backups: usize,
}

impl RotatingFile {
    fn open(path: PathBuf, max_size: u64, max_backups: usize) -> Result<Self, AuditError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Log {
                path: path.clone(),
                source,
            })?;
        }
        let file = open_append(&path).map_err(|source| AuditError::Log {
            path: path.clone(),
            source,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(RotatingFile {
            path,
            file: BufWriter::with_capacity(64 * 1024, file),
            size,
            max_size,
            max_backups,
        })
    }

    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.max_backups == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for i in (1..self.max_backups).rev() {
                match std::fs::rename(backup(&self.path, i), backup(&self.path, i + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, backup(&self.path, 1))?;
        }
        self.file = BufWriter::with_capacity(64 * 1024, open_append(&self.path)?);
        self.size = 0;
        Ok(())
    }
}

fn backup(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Opens for appending; a new file is readable by its owner only (audit
/// records name users, addresses and objects).
fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Stage;

    fn event(id: &str) -> AuditEvent {
        AuditEvent::new(id, AuditLevel::Metadata, Stage::ResponseComplete)
    }

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn writes_one_json_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let (auditor, task) = Auditor::spawn(AuditConfig {
            sink: Some(AuditSink::Path(path.clone())),
            ..AuditConfig::default()
        })
        .unwrap();
        for i in 0..3 {
            auditor.record(event(&format!("e{i}")));
        }
        auditor.flush().await;
        let written = lines(&path);
        assert_eq!(written.len(), 3);
        assert_eq!(written[2]["auditID"], "e2");
        assert_eq!(written[0]["kind"], "Event");
        task.shutdown().await;
        auditor.record(event("late"));
        assert_eq!(auditor.stats().dropped(), 1);
        assert_eq!(auditor.stats().recorded(), 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[tokio::test]
    async fn rotates_by_size_keeping_max_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let one = serde_json::to_vec(&event("e00")).unwrap().len() as u64 + 1;
        let (auditor, task) = Auditor::spawn(AuditConfig {
            sink: Some(AuditSink::Path(path.clone())),
            max_size_bytes: 2 * one,
            max_backups: 2,
            ..AuditConfig::default()
        })
        .unwrap();
        for i in 0..7 {
            auditor.record(event(&format!("e{i:02}")));
        }
        task.shutdown().await;
        let ids = |p: &Path| {
            lines(p)
                .iter()
                .map(|v| v["auditID"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&path), ["e06"]);
        assert_eq!(ids(&backup(&path, 1)), ["e04", "e05"]);
        assert_eq!(ids(&backup(&path, 2)), ["e02", "e03"]);
        assert!(!backup(&path, 3).exists(), "the oldest is dropped");
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let (auditor, task) = Auditor::spawn(AuditConfig {
            sink: Some(AuditSink::Path(dir.path().join("audit.log"))),
            queue_capacity: 1,
            ..AuditConfig::default()
        })
        .unwrap();
        for i in 0..2_000 {
            auditor.record(event(&format!("e{i}")));
        }
        let stats = auditor.stats();
        assert_eq!(stats.recorded() + stats.dropped(), 2_000);
        assert!(stats.dropped() > 0);
        task.shutdown().await;
    }

    #[tokio::test]
    async fn level_none_starts_nothing() {
        let (auditor, task) = Auditor::spawn(AuditConfig {
            level: AuditLevel::None,
            sink: Some(AuditSink::Path("/nonexistent/dir/audit.log".into())),
            ..AuditConfig::default()
        })
        .unwrap();
        auditor.record(event("x"));
        auditor.flush().await;
        assert_eq!(auditor.stats().recorded(), 0);
        task.shutdown().await;
    }

    #[test]
    fn an_unwritable_log_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = Auditor::spawn(AuditConfig {
            sink: Some(AuditSink::Path(blocker.join("audit.log"))),
            ..AuditConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, AuditError::Log { .. }), "{err}");
    }
}
