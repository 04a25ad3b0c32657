//! The controllers' metrics, under controller-runtime's names so that the
//! dashboards written for KubeSphere's Go controller-manager read them:
//!
//! | metric | labels | what |
//! | --- | --- | --- |
//! | `controller_runtime_reconcile_total` | `controller, result` | reconciles finished, `result` = `success` or `error` |
//! | `controller_runtime_reconcile_errors_total` | `controller` | reconciles that failed |
//! | `controller_runtime_reconcile_time_seconds` | `controller` | how long each reconcile took |
//! | `controller_runtime_active_workers` | `controller` | reconciles running now |
//! | `ks_controller_reconcile_conflicts_total` | `controller` | failed reconciles that were write conflicts (409: the object changed since it was read), retried at once |
//! | `workqueue_depth` | `name` | objects waiting for a retry after a failed reconcile |
//!
//! kube-rs' scheduler does not expose its queue, so `workqueue_depth` counts
//! what this crate can see: objects whose last reconcile failed and whose
//! retry is pending (the backoff set). Under a healthy controller it is 0;
//! a rising value is a controller failing to make progress.
//!
//! [`Metrics`] is a [`Collector`]: register it in any `prometheus-client`
//! registry (ks-apiserver adds it to its `/metrics`; the standalone binary
//! serves its own).

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

/// Buckets of `controller_runtime_reconcile_time_seconds` (controller-runtime's).
pub const RECONCILE_TIME_BUCKETS: [f64; 23] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    1.0, 1.25, 1.5, 1.75, 2.0, 60.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    controller: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    name: &'static str,
}

fn reconcile_histogram() -> Histogram {
    Histogram::new(RECONCILE_TIME_BUCKETS)
}

#[derive(Debug)]
struct Families {
    total: Family<ResultLabel, Counter>,
    errors: Family<ControllerLabel, Counter>,
    conflicts: Family<ControllerLabel, Counter>,
    time: Family<ControllerLabel, Histogram, fn() -> Histogram>,
    active: Family<ControllerLabel, Gauge>,
    depth: Family<QueueLabel, Gauge>,
}

/// The metrics of every controller of a manager. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Metrics {
    families: Arc<Families>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            families: Arc::new(Families {
                total: Family::default(),
                errors: Family::default(),
                conflicts: Family::default(),
                time: Family::new_with_constructor(reconcile_histogram as fn() -> Histogram),
                active: Family::default(),
                depth: Family::default(),
            }),
        }
    }
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Metrics::default()
    }

    /// The handle one controller records through.
    pub(crate) fn controller(&self, controller: &'static str) -> ControllerMetrics {
        let f = &self.families;
        let label = ControllerLabel { controller };
        // Create every series up front, so a scrape shows zeros rather than
        // nothing for a controller that has not run yet.
        let success = f.total.get_or_create_owned(&ResultLabel {
            controller,
            result: "success",
        });
        let failure = f.total.get_or_create_owned(&ResultLabel {
            controller,
            result: "error",
        });
        ControllerMetrics {
            success,
            failure,
            errors: f.errors.get_or_create_owned(&label),
            conflicts: f.conflicts.get_or_create_owned(&label),
            time: f.time.get_or_create_owned(&label),
            active: f.active.get_or_create_owned(&label),
            depth: f
                .depth
                .get_or_create_owned(&QueueLabel { name: controller }),
        }
    }

    /// Reconciles of `controller` finished so far, successful or not.
    pub fn reconciles(&self, controller: &'static str) -> u64 {
        let m = self.controller(controller);
        m.success.get() + m.failure.get()
    }

    /// Reconciles of `controller` that failed so far.
    pub fn errors(&self, controller: &'static str) -> u64 {
        self.controller(controller).errors.get()
    }

    /// Failed reconciles of `controller` that were write conflicts.
    pub fn conflicts(&self, controller: &'static str) -> u64 {
        self.controller(controller).conflicts.get()
    }

    /// Objects of `controller` waiting for a retry after a failure.
    pub fn retries_pending(&self, controller: &'static str) -> i64 {
        self.controller(controller).depth.get()
    }
}

/// One controller's series.
#[derive(Clone, Debug)]
pub(crate) struct ControllerMetrics {
    success: Counter,
    failure: Counter,
    errors: Counter,
    conflicts: Counter,
    time: Histogram,
    active: Gauge,
    pub(crate) depth: Gauge,
}

impl ControllerMetrics {
    /// Counts a failed reconcile as a write conflict (it is counted as an
    /// error too).
    pub(crate) fn conflict(&self) {
        self.conflicts.inc();
    }

    /// Marks a reconcile as started; the guard records it when dropped.
    pub(crate) fn start(&self) -> Running<'_> {
        self.active.inc();
        Running {
            metrics: self,
            started: std::time::Instant::now(),
        }
    }
}

/// A reconcile under way. It counts as a success or a failure when
/// [`Running::finished`] says so; dropped unfinished (the controller shut
/// down mid-reconcile), it counts as neither.
pub(crate) struct Running<'a> {
    metrics: &'a ControllerMetrics,
    started: std::time::Instant,
}

impl Running<'_> {
    /// Records the outcome.
    pub(crate) fn finished(self, ok: bool) {
        let m = self.metrics;
        m.time.observe(self.started.elapsed().as_secs_f64());
        if ok {
            m.success.inc();
        } else {
            m.errors.inc();
            m.failure.inc();
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.metrics.active.dec();
    }
}

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let f = &self.families;
        let metric = encoder.encode_descriptor(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            None,
            f.total.metric_type(),
        )?;
        f.total.encode(metric)?;
        let metric = encoder.encode_descriptor(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            None,
            f.errors.metric_type(),
        )?;
        f.errors.encode(metric)?;
        let metric = encoder.encode_descriptor(
            "ks_controller_reconcile_conflicts",
            "Failed reconciles that were write conflicts, per controller",
            None,
            f.conflicts.metric_type(),
        )?;
        f.conflicts.encode(metric)?;
        let metric = encoder.encode_descriptor(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            None,
            f.time.metric_type(),
        )?;
        f.time.encode(metric)?;
        let metric = encoder.encode_descriptor(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            None,
            f.active.metric_type(),
        )?;
        f.active.encode(metric)?;
        let metric = encoder.encode_descriptor(
            "workqueue_depth",
            "Objects waiting for a retry after a failed reconcile, per controller",
            None,
            f.depth.metric_type(),
        )?;
        f.depth.encode(metric)
    }
}
