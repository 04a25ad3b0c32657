//! Per-object exponential backoff for failed reconciles.
//!
//! kube-rs' `error_policy` is stateless, so the failure count of each object
//! lives here: every failure doubles the delay (from [`Backoff::BASE`] up to
//! [`Backoff::MAX`], controller-runtime's defaults) and a success resets it.
//! Every error is retried; none is dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Failure counts per object key.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// The first delay.
    pub const BASE: Duration = Duration::from_millis(5);
    /// The longest delay.
    pub const MAX: Duration = Duration::from_secs(1000);

    /// Records a failure of `key` and returns how long to wait before the
    /// next attempt.
    pub fn failed(&self, key: &str) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = failures.entry(key.to_owned()).or_insert(0);
        let delay = Self::delay(*n);
        *n = n.saturating_add(1);
        delay
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.remove(key);
    }

    /// The delay after `n` earlier failures: `BASE * 2^n`, at most `MAX`.
    pub fn delay(n: u32) -> Duration {
        Self::BASE
            .checked_mul(2u32.saturating_pow(n.min(31)))
            .map_or(Self::MAX, |d| d.min(Self::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let b = Backoff::default();
        assert_eq!(b.failed("a"), Duration::from_millis(5));
        assert_eq!(b.failed("a"), Duration::from_millis(10));
        assert_eq!(b.failed("a"), Duration::from_millis(20));
        assert_eq!(b.failed("b"), Duration::from_millis(5));
        b.succeeded("a");
        assert_eq!(b.failed("a"), Duration::from_millis(5));
        assert_eq!(Backoff::delay(40), Backoff::MAX);
        assert_eq!(Backoff::delay(20), Backoff::MAX);
    }
}
