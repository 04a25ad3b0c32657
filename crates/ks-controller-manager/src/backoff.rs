//! Per-object exponential backoff for failed reconciles.
//!
//! kube-rs' `error_policy` is stateless, so the failure count of each object
//! lives here: every failure doubles the delay (from [`Backoff::BASE`] up to
//! [`Backoff::MAX`], controller-runtime's defaults) and a success resets it.
//! Every error is retried; none is dropped.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

/// Failure counts per object key.
#[derive(Debug)]
pub struct Backoff<K> {
    failures: Mutex<HashMap<K, u32>>,
}

impl<K> Default for Backoff<K> {
    fn default() -> Self {
        Backoff {
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> Backoff<K> {
    /// The first delay.
    pub const BASE: Duration = Duration::from_millis(5);
    /// The longest delay.
    pub const MAX: Duration = Duration::from_secs(1000);

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, u32>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a failure of `key` and returns how long to wait before the
    /// next attempt.
    pub fn failed(&self, key: &K) -> Duration {
        let mut failures = self.lock();
        let n = failures.entry(key.clone()).or_insert(0);
        let delay = Self::delay(*n);
        *n = n.saturating_add(1);
        delay
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &K) {
        self.lock().remove(key);
    }

    /// Forgets every key that `keep` refuses (objects that are gone, whose
    /// retry will never run).
    pub fn retain(&self, mut keep: impl FnMut(&K) -> bool) {
        self.lock().retain(|k, _| keep(k));
    }

    /// How many keys are waiting for a retry.
    pub fn pending(&self) -> usize {
        self.lock().len()
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
        let b = Backoff::<&str>::default();
        assert_eq!(b.failed(&"a"), Duration::from_millis(5));
        assert_eq!(b.failed(&"a"), Duration::from_millis(10));
        assert_eq!(b.failed(&"a"), Duration::from_millis(20));
        assert_eq!(b.failed(&"b"), Duration::from_millis(5));
        assert_eq!(b.pending(), 2);
        b.succeeded(&"a");
        assert_eq!(b.pending(), 1);
        assert_eq!(b.failed(&"a"), Duration::from_millis(5));
        b.retain(|k| *k == "a");
        assert_eq!(b.pending(), 1);
        assert_eq!(Backoff::<&str>::delay(40), Backoff::<&str>::MAX);
        assert_eq!(Backoff::<&str>::delay(20), Backoff::<&str>::MAX);
    }
}
