//! Counters of a controller's reconciles (the seed of its metrics).

use std::sync::atomic::{AtomicU64, Ordering};

/// How many reconciles a controller ran and how many failed.
#[derive(Debug, Default)]
pub struct ReconcileStats {
    reconciles: AtomicU64,
    errors: AtomicU64,
}

impl ReconcileStats {
    /// Reconciles finished, successful or not.
    pub fn reconciles(&self) -> u64 {
        self.reconciles.load(Ordering::Relaxed)
    }

    /// Reconciles that failed (and were scheduled again with backoff).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self, ok: bool) {
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        // Counted last, so a reader that sees the count also sees the error.
        self.reconciles.fetch_add(1, Ordering::Relaxed);
    }
}
