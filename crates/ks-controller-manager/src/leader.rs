//! Leader election over a `coordination.k8s.io/v1` Lease, so that of several
//! replicas of a controller-manager exactly one runs the controllers.
//!
//! The semantics are client-go's (`k8s.io/client-go/tools/leaderelection`),
//! which KubeSphere's controller-manager uses:
//!
//! - the Lease records its holder (`holderIdentity`), how long a holder's
//!   claim lasts (`leaseDurationSeconds`), when it was acquired and last
//!   renewed, and how many times it changed hands (`leaseTransitions`);
//! - a candidate takes the Lease when it is absent, unheld (empty
//!   `holderIdentity`) or expired. Expiry is measured on the candidate's own
//!   monotonic clock, never by comparing the holder's `renewTime` with
//!   local wall time: the lease is expired once the candidate has seen the
//!   same record, unchanged, for `leaseDurationSeconds` (so clock skew
//!   between machines cannot make two leaders). A candidate that starts
//!   after the holder died therefore waits one lease duration too;
//! - the leader renews every retry period and gives up leadership when it
//!   cannot renew within the renew deadline, or at once when the Lease
//!   names another holder (client-go retries until the deadline even then;
//!   a leader that sees a successor has nothing left to wait for);
//! - a leader that stops releases the Lease (empty `holderIdentity`,
//!   `leaseDurationSeconds: 1`) so that a successor takes over at its next
//!   attempt instead of waiting for the lease to expire;
//! - every write carries the `resourceVersion` it read, so two candidates
//!   racing for an expired lease cannot both win.
//!
//! The decisions are pure ([`Candidate`], over [`LeaderRecord`]s and
//! instants) and unit-tested; [`LeaderElector`] does the I/O.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> Result<(), ks_controller_manager::Error> {
//! use ks_controller_manager::leader::{LeaderElection, LeaderElector, new_identity};
//!
//! let config = LeaderElection::new("kubesphere-system", "my-lease", new_identity("host-1"));
//! let mut elector = LeaderElector::new(client, config)?;
//! elector.acquire().await; // returns once this process leads
//! tokio::select! {
//!     _lost = elector.hold() => { /* stop at once: another may lead already */ }
//!     _ = tokio::signal::ctrl_c() => { elector.release().await?; }
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::time::Instant;

use crate::Error;

/// The namespace of KubeSphere's controller-manager Lease.
pub const LEASE_NAMESPACE: &str = "kubesphere-system";
/// The name of KubeSphere's controller-manager Lease.
pub const LEASE_NAME: &str = "ks-controller-manager-leader-election";
/// How long a holder's claim lasts (KubeSphere's and client-go's default).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(30);
/// How long the leader keeps trying to renew before it gives up.
pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(15);
/// How often candidates try to acquire and the leader renews.
pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(5);
/// A candidate waits between one and this many retry periods between two
/// attempts to acquire (client-go's `JitterFactor` plus one), so that
/// candidates started together do not keep colliding.
const ACQUIRE_JITTER: f64 = 1.2;

/// A candidate's identity as client-go builds it: the host name, `_`, and
/// a random UUID (so that two processes on one host, or a restarted
/// process, are different candidates).
pub fn new_identity(hostname: &str) -> String {
    format!("{hostname}_{}", uuid::Uuid::new_v4())
}

/// What a Lease says about its holder (client-go's
/// `LeaderElectionRecord`, read from and written to the Lease's spec).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderRecord {
    /// Who holds the lease; empty when nobody does.
    pub holder_identity: String,
    /// How long the holder's claim lasts after each renewal.
    pub lease_duration_seconds: i32,
    /// When the current holder acquired it.
    pub acquire_time: Option<Timestamp>,
    /// When the holder last renewed it.
    pub renew_time: Option<Timestamp>,
    /// How many times the lease changed hands.
    pub leader_transitions: i32,
}

impl LeaderRecord {
    /// The record of `lease` (absent fields read as empty or zero).
    pub fn from_lease(lease: &Lease) -> Self {
        let Some(spec) = &lease.spec else {
            return LeaderRecord::default();
        };
        LeaderRecord {
            holder_identity: spec.holder_identity.clone().unwrap_or_default(),
            lease_duration_seconds: spec.lease_duration_seconds.unwrap_or(0),
            acquire_time: spec.acquire_time.as_ref().map(|t| t.0),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            leader_transitions: spec.lease_transitions.unwrap_or(0),
        }
    }

    /// Writes the record into `spec`, keeping the fields it does not own
    /// (`strategy`, `preferredHolder`).
    pub fn apply_to(&self, spec: &mut LeaseSpec) {
        spec.holder_identity = Some(self.holder_identity.clone());
        spec.lease_duration_seconds = Some(self.lease_duration_seconds);
        spec.acquire_time = self.acquire_time.map(MicroTime);
        spec.renew_time = self.renew_time.map(MicroTime);
        spec.lease_transitions = Some(self.leader_transitions);
    }

    /// Whether somebody holds the lease.
    pub fn is_held(&self) -> bool {
        !self.holder_identity.is_empty()
    }
}

/// What a candidate should do after reading the Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// There is no Lease: create it holding this record.
    Create(LeaderRecord),
    /// Write this record over the Lease read: acquire it, or renew it when
    /// the candidate already holds it.
    Update(LeaderRecord),
    /// Another candidate holds an unexpired lease: wait.
    Held {
        /// The holder's identity.
        holder: String,
        /// How long until the lease expires if the holder stops renewing.
        expires_in: Duration,
    },
}

/// The decisions of one candidate: what it last saw of the Lease and when,
/// on its own monotonic clock. Pure: the caller reads and writes the Lease
/// and hands in the instants.
#[derive(Clone, Debug)]
pub struct Candidate {
    identity: String,
    lease_duration: Duration,
    /// The last record seen, and when it was first seen in that state.
    observed: Option<(LeaderRecord, Instant)>,
}

impl Candidate {
    /// A candidate called `identity` that claims leases of `lease_duration`
    /// (whole seconds; the fraction is dropped, as client-go does).
    pub fn new(identity: impl Into<String>, lease_duration: Duration) -> Self {
        Candidate {
            identity: identity.into(),
            lease_duration,
            observed: None,
        }
    }

    /// The candidate's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Whether the last record seen or written names this candidate.
    pub fn is_leader(&self) -> bool {
        self.observed
            .as_ref()
            .is_some_and(|(record, _)| record.holder_identity == self.identity)
    }

    /// The record this candidate writes at `wall` to hold the lease.
    fn claim(&self, wall: Timestamp) -> LeaderRecord {
        LeaderRecord {
            holder_identity: self.identity.clone(),
            lease_duration_seconds: i32::try_from(self.lease_duration.as_secs())
                .unwrap_or(i32::MAX),
            acquire_time: Some(wall),
            renew_time: Some(wall),
            leader_transitions: 0,
        }
    }

    /// Decides, having read `current` (`None`: no Lease) at `now` (wall
    /// time `wall`), whether to create, take, renew or wait. Remembers
    /// `current`: the expiry clock restarts whenever the record changes.
    pub fn step(&mut self, current: Option<&LeaderRecord>, now: Instant, wall: Timestamp) -> Step {
        let mut claim = self.claim(wall);
        let Some(current) = current else {
            return Step::Create(claim);
        };
        if self
            .observed
            .as_ref()
            .is_none_or(|(seen, _)| seen != current)
        {
            self.observed = Some((current.clone(), now));
        }
        if current.is_held() && !self.is_leader() {
            let since = self.observed.as_ref().map_or(now, |(_, at)| *at);
            let duration =
                Duration::from_secs(u64::try_from(current.lease_duration_seconds).unwrap_or(0));
            let expires_at = since + duration;
            if expires_at > now {
                return Step::Held {
                    holder: current.holder_identity.clone(),
                    expires_in: expires_at - now,
                };
            }
        }
        if current.holder_identity == self.identity {
            // A renewal: the tenure and the transition count carry over.
            claim.acquire_time = current.acquire_time;
            claim.leader_transitions = current.leader_transitions;
        } else {
            claim.leader_transitions = current.leader_transitions.saturating_add(1);
        }
        Step::Update(claim)
    }

    /// Records that `record` was written successfully at `now`.
    pub fn written(&mut self, record: LeaderRecord, now: Instant) {
        self.observed = Some((record, now));
    }

    /// The record that releases the lease at `wall`, if this candidate
    /// holds it: nobody holds it, it lasts one second, and the transition
    /// count is kept.
    pub fn release(&self, wall: Timestamp) -> Option<LeaderRecord> {
        let (seen, _) = self.observed.as_ref()?;
        (seen.holder_identity == self.identity).then(|| LeaderRecord {
            holder_identity: String::new(),
            lease_duration_seconds: 1,
            acquire_time: Some(wall),
            renew_time: Some(wall),
            leader_transitions: seen.leader_transitions,
        })
    }
}

/// Where the Lease is, who competes for it, and the timings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderElection {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This candidate's identity (see [`new_identity`]).
    pub identity: String,
    /// How long a claim lasts: how long the others wait after the last
    /// renewal of a leader that died.
    pub lease_duration: Duration,
    /// How long the leader keeps retrying a failed renewal before it gives
    /// up leadership.
    pub renew_deadline: Duration,
    /// Time between two attempts to acquire or renew.
    pub retry_period: Duration,
}

impl LeaderElection {
    /// The Lease `namespace/name`, contested as `identity` with the default
    /// timings (30s, 15s, 5s).
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        LeaderElection {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_deadline: DEFAULT_RENEW_DEADLINE,
            retry_period: DEFAULT_RETRY_PERIOD,
        }
    }

    /// Checks client-go's constraints: the lease lasts at least a second
    /// and longer than the renew deadline, which is longer than 1.2 retry
    /// periods (so a leader gets more than one attempt before it gives
    /// up), and the identity is not empty.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Err(Error::InvalidLeaderElection { reason });
        if self.identity.is_empty() {
            return invalid("the identity is empty".to_owned());
        }
        if self.lease_duration < Duration::from_secs(1) {
            return invalid(format!(
                "the lease duration ({:?}) must be at least 1s (leases count whole seconds)",
                self.lease_duration
            ));
        }
        if self.retry_period.is_zero() {
            return invalid("the retry period must be greater than zero".to_owned());
        }
        if self.lease_duration <= self.renew_deadline {
            return invalid(format!(
                "the lease duration ({:?}) must be greater than the renew deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.renew_deadline <= self.retry_period.mul_f64(ACQUIRE_JITTER) {
            return invalid(format!(
                "the renew deadline ({:?}) must be greater than 1.2 times the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        Ok(())
    }
}

/// What one attempt to acquire or renew found.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Attempt {
    /// This candidate holds the lease (it just created, took or renewed it).
    Leading,
    /// Another candidate holds an unexpired lease.
    HeldBy(String),
    /// Another write got in first (a 409): try again.
    Conflict,
}

/// Returned by [`LeaderElector::hold`] when leadership is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeadershipLost {
    /// No renewal succeeded within the renew deadline.
    RenewDeadline,
    /// The Lease names another holder (it was taken over or overwritten).
    TakenBy(String),
}

impl std::fmt::Display for LeadershipLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeadershipLost::RenewDeadline => f.write_str("the lease was not renewed in time"),
            LeadershipLost::TakenBy(holder) => write!(f, "the lease is held by {holder}"),
        }
    }
}

/// Contests one Lease through the Kubernetes API.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElection,
    candidate: Candidate,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .field("leading", &self.candidate.is_leader())
            .finish_non_exhaustive()
    }
}

impl LeaderElector {
    /// An elector for `config` (checked with [`LeaderElection::validate`]),
    /// acting through `client`. It needs `get`, `create` and `update` on
    /// the Lease.
    pub fn new(client: kube::Client, config: LeaderElection) -> Result<Self, Error> {
        config.validate()?;
        Ok(LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            candidate: Candidate::new(config.identity.clone(), config.lease_duration),
            config,
        })
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// Whether this candidate led at its last read or write of the Lease.
    pub fn is_leader(&self) -> bool {
        self.candidate.is_leader()
    }

    /// Tries to acquire the lease every retry period (with jitter) until it
    /// succeeds. Errors are logged and retried. Cancel it by dropping it
    /// (e.g. in `tokio::select!`); then call [`LeaderElector::release`],
    /// in case an attempt under way had succeeded.
    pub async fn acquire(&mut self) {
        let mut last_holder = String::new();
        loop {
            // An API that does not answer must not stall the candidate.
            let attempt = tokio::time::timeout(self.config.renew_deadline, self.attempt()).await;
            match attempt {
                Ok(Ok(Attempt::Leading)) => {
                    tracing::info!(lease = %self.lease(), identity = %self.config.identity, "acquired the lease: leading");
                    return;
                }
                Ok(Ok(Attempt::HeldBy(holder))) => {
                    if holder != last_holder {
                        tracing::info!(lease = %self.lease(), %holder, "the lease is held by another candidate; waiting");
                        last_holder = holder;
                    }
                }
                Ok(Ok(Attempt::Conflict)) => {
                    tracing::debug!(lease = %self.lease(), "another write to the lease came first")
                }
                Ok(Err(err)) => {
                    tracing::warn!(lease = %self.lease(), error = %err, "trying to acquire the lease")
                }
                Err(_elapsed) => {
                    tracing::warn!(lease = %self.lease(), "trying to acquire the lease: no answer within the renew deadline")
                }
            }
            tokio::time::sleep(jittered(self.config.retry_period)).await;
        }
    }

    /// Renews the lease every retry period for as long as it can; returns
    /// when leadership is lost: no renewal succeeded within the renew
    /// deadline, or the Lease names another holder. The caller must stop
    /// leading at once. Cancel it by dropping it, then
    /// [`LeaderElector::release`].
    pub async fn hold(&mut self) -> LeadershipLost {
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            let deadline = Instant::now() + self.config.renew_deadline;
            let renewed = tokio::time::timeout_at(deadline, async {
                loop {
                    match self.attempt().await {
                        Ok(Attempt::Leading) => return Ok(()),
                        Ok(Attempt::HeldBy(holder)) => return Err(LeadershipLost::TakenBy(holder)),
                        Ok(Attempt::Conflict) => {
                            tracing::warn!(lease = %self.lease(), "renewing the lease: conflict")
                        }
                        Err(err) => {
                            tracing::warn!(lease = %self.lease(), error = %err, "renewing the lease")
                        }
                    }
                    tokio::time::sleep(self.config.retry_period).await;
                }
            })
            .await;
            match renewed {
                Ok(Ok(())) => {}
                Ok(Err(lost)) => {
                    self.candidate.observed = None;
                    return lost;
                }
                Err(_elapsed) => {
                    self.candidate.observed = None;
                    return LeadershipLost::RenewDeadline;
                }
            }
        }
    }

    /// Releases the lease if this candidate holds it, so that another
    /// candidate takes over at its next attempt. Returns whether it
    /// released it. The Lease is read first: an attempt to acquire that
    /// was cancelled may have succeeded unseen.
    pub async fn release(&mut self) -> Result<bool, Error> {
        let now = Instant::now();
        let Some(mut lease) = self.get().await? else {
            return Ok(false);
        };
        let current = LeaderRecord::from_lease(&lease);
        if current.holder_identity != self.config.identity {
            return Ok(false);
        }
        self.candidate.written(current, now);
        let Some(released) = self.candidate.release(Timestamp::now()) else {
            return Ok(false);
        };
        released.apply_to(lease.spec.get_or_insert_with(LeaseSpec::default));
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                self.candidate
                    .written(LeaderRecord::from_lease(&written), Instant::now());
                tracing::info!(lease = %self.lease(), "released the lease");
                Ok(true)
            }
            // Somebody wrote it since: it is no longer ours to release.
            Err(err) if crate::runtime::is_conflict(&err) => Ok(false),
            Err(err) => Err(Error::kube("update", "Lease", self.lease())(err)),
        }
    }

    /// One read of the Lease and, if the candidate may, one write.
    async fn attempt(&mut self) -> Result<Attempt, Error> {
        let now = Instant::now();
        let current = self.get().await?;
        let record = current.as_ref().map(LeaderRecord::from_lease);
        let step = self.candidate.step(record.as_ref(), now, Timestamp::now());
        let written = match step {
            Step::Held { holder, .. } => return Ok(Attempt::HeldBy(holder)),
            Step::Create(claim) => {
                let mut lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(LeaseSpec::default()),
                };
                claim.apply_to(lease.spec.get_or_insert_with(LeaseSpec::default));
                self.api.create(&PostParams::default(), &lease).await
            }
            Step::Update(claim) => {
                let mut lease = current.unwrap_or_default();
                claim.apply_to(lease.spec.get_or_insert_with(LeaseSpec::default));
                // The resourceVersion read makes a concurrent writer's update fail.
                self.api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(lease) => {
                // What the server stored (its timestamps have microseconds only).
                self.candidate
                    .written(LeaderRecord::from_lease(&lease), now);
                Ok(Attempt::Leading)
            }
            Err(err) if crate::runtime::is_conflict(&err) => Ok(Attempt::Conflict),
            Err(err) => Err(Error::kube("update", "Lease", self.lease())(err)),
        }
    }

    async fn get(&self) -> Result<Option<Lease>, Error> {
        self.api
            .get_opt(&self.config.name)
            .await
            .map_err(Error::kube("get", "Lease", self.lease()))
    }

    fn lease(&self) -> String {
        format!("{}/{}", self.config.namespace, self.config.name)
    }
}

/// `period` stretched by a random factor in [1, 2.2).
fn jittered(period: Duration) -> Duration {
    // A v4 UUID's low 62 bits are random (its version and variant bits
    // lie above): randomness enough for a jitter, without a dependency on
    // a random number generator.
    let bits = uuid::Uuid::new_v4().as_u128() & ((1 << 53) - 1);
    let random = bits as f64 / (1u64 << 53) as f64;
    period + period.mul_f64(ACQUIRE_JITTER * random)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ME: &str = "host-a_1";
    const OTHER: &str = "host-b_2";
    const LEASE: Duration = Duration::from_secs(15);

    fn wall(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn held_by(holder: &str, renewed: i64, transitions: i32) -> LeaderRecord {
        LeaderRecord {
            holder_identity: holder.to_owned(),
            lease_duration_seconds: 15,
            acquire_time: Some(wall(0)),
            renew_time: Some(wall(renewed)),
            leader_transitions: transitions,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn no_lease_is_created_holding_it() {
        let mut c = Candidate::new(ME, LEASE);
        let t0 = Instant::now();
        let step = c.step(None, t0, wall(0));
        assert_eq!(
            step,
            Step::Create(LeaderRecord {
                holder_identity: ME.to_owned(),
                lease_duration_seconds: 15,
                acquire_time: Some(wall(0)),
                renew_time: Some(wall(0)),
                leader_transitions: 0,
            })
        );
        assert!(!c.is_leader(), "not before the write succeeded");
        if let Step::Create(record) = step {
            c.written(record, t0);
        }
        assert!(c.is_leader());
    }

    #[test]
    fn a_held_lease_is_waited_for_a_full_duration_from_first_sight() {
        let mut c = Candidate::new(ME, LEASE);
        let t0 = Instant::now();
        // Its renewTime is long past by our wall clock: that does not count,
        // only how long we have seen it unchanged.
        let record = held_by(OTHER, -3600, 4);
        assert_eq!(
            c.step(Some(&record), t0, wall(0)),
            Step::Held {
                holder: OTHER.to_owned(),
                expires_in: secs(15)
            }
        );
        assert_eq!(
            c.step(Some(&record), t0 + secs(14), wall(14)),
            Step::Held {
                holder: OTHER.to_owned(),
                expires_in: secs(1)
            }
        );
        let Step::Update(claim) = c.step(Some(&record), t0 + secs(15), wall(15)) else {
            panic!("an expired lease is taken");
        };
        assert_eq!(claim.holder_identity, ME);
        assert_eq!(claim.acquire_time, Some(wall(15)));
        assert_eq!(claim.renew_time, Some(wall(15)));
        assert_eq!(claim.leader_transitions, 5, "a change of hands is counted");
    }

    #[test]
    fn a_renewal_restarts_the_wait() {
        let mut c = Candidate::new(ME, LEASE);
        let t0 = Instant::now();
        assert!(matches!(
            c.step(Some(&held_by(OTHER, 0, 0)), t0, wall(0)),
            Step::Held { .. }
        ));
        // The holder renewed: a new record, seen at t0 + 10s.
        let renewed = held_by(OTHER, 10, 0);
        assert!(matches!(
            c.step(Some(&renewed), t0 + secs(10), wall(10)),
            Step::Held { .. }
        ));
        assert_eq!(
            c.step(Some(&renewed), t0 + secs(20), wall(20)),
            Step::Held {
                holder: OTHER.to_owned(),
                expires_in: secs(5)
            }
        );
        assert!(matches!(
            c.step(Some(&renewed), t0 + secs(25), wall(25)),
            Step::Update(_)
        ));
    }

    #[test]
    fn the_holders_lease_duration_counts_not_ours() {
        let mut c = Candidate::new(ME, secs(60));
        let t0 = Instant::now();
        let record = held_by(OTHER, 0, 0); // 15 seconds
        assert!(matches!(
            c.step(Some(&record), t0, wall(0)),
            Step::Held { .. }
        ));
        let Step::Update(claim) = c.step(Some(&record), t0 + secs(15), wall(15)) else {
            panic!("expired after the holder's 15s");
        };
        assert_eq!(
            claim.lease_duration_seconds, 60,
            "we claim our own duration"
        );
    }

    #[test]
    fn an_unheld_lease_is_taken_at_once() {
        let mut c = Candidate::new(ME, LEASE);
        let t0 = Instant::now();
        let released = LeaderRecord {
            holder_identity: String::new(),
            lease_duration_seconds: 1,
            acquire_time: Some(wall(0)),
            renew_time: Some(wall(0)),
            leader_transitions: 7,
        };
        let Step::Update(claim) = c.step(Some(&released), t0, wall(0)) else {
            panic!("a released lease is taken");
        };
        assert_eq!(claim.holder_identity, ME);
        assert_eq!(claim.leader_transitions, 8);
        // A Lease with no spec at all, too.
        let mut c = Candidate::new(ME, LEASE);
        let empty = LeaderRecord::from_lease(&Lease::default());
        assert!(matches!(c.step(Some(&empty), t0, wall(0)), Step::Update(_)));
    }

    #[test]
    fn the_leader_renews_keeping_its_tenure() {
        let mut c = Candidate::new(ME, LEASE);
        let t0 = Instant::now();
        let mine = held_by(ME, 5, 3);
        c.written(mine.clone(), t0);
        let Step::Update(claim) = c.step(Some(&mine), t0 + secs(2), wall(7)) else {
            panic!("the leader renews");
        };
        assert_eq!(claim.holder_identity, ME);
        assert_eq!(claim.acquire_time, Some(wall(0)), "acquired when it was");
        assert_eq!(claim.renew_time, Some(wall(7)));
        assert_eq!(claim.leader_transitions, 3, "no change of hands");
    }

    #[test]
    fn a_leader_that_sees_another_holder_is_not_leading() {
        let mut c = Candidate::new(ME, LEASE);
        let t0 = Instant::now();
        c.written(held_by(ME, 0, 0), t0);
        assert!(c.is_leader());
        let taken = held_by(OTHER, 20, 1);
        assert_eq!(
            c.step(Some(&taken), t0 + secs(20), wall(20)),
            Step::Held {
                holder: OTHER.to_owned(),
                expires_in: secs(15)
            }
        );
        assert!(!c.is_leader());
        assert_eq!(c.release(wall(21)), None, "not ours to release");
    }

    #[test]
    fn release_empties_the_holder_and_keeps_the_count() {
        let mut c = Candidate::new(ME, LEASE);
        let t0 = Instant::now();
        assert_eq!(c.release(wall(0)), None, "never led");
        c.written(held_by(ME, 0, 2), t0);
        let released = c.release(wall(9)).unwrap();
        assert_eq!(
            released,
            LeaderRecord {
                holder_identity: String::new(),
                lease_duration_seconds: 1,
                acquire_time: Some(wall(9)),
                renew_time: Some(wall(9)),
                leader_transitions: 2,
            }
        );
        // Another candidate takes it at once.
        let mut other = Candidate::new(OTHER, LEASE);
        assert!(matches!(
            other.step(Some(&released), t0, wall(9)),
            Step::Update(_)
        ));
    }

    #[test]
    fn records_round_trip_through_a_lease_keeping_other_fields() {
        let mut spec = LeaseSpec {
            strategy: Some("OldestEmulationVersion".to_owned()),
            ..LeaseSpec::default()
        };
        let record = held_by(ME, 3, 1);
        record.apply_to(&mut spec);
        assert_eq!(spec.strategy.as_deref(), Some("OldestEmulationVersion"));
        let lease = Lease {
            metadata: ObjectMeta::default(),
            spec: Some(spec),
        };
        assert_eq!(LeaderRecord::from_lease(&lease), record);
        let json = serde_json::to_value(&lease).unwrap();
        assert_eq!(json["spec"]["holderIdentity"], ME);
        assert_eq!(json["spec"]["leaseDurationSeconds"], 15);
        assert_eq!(json["spec"]["leaseTransitions"], 1);
        assert_eq!(json["spec"]["renewTime"], "2023-11-14T22:13:23.000000Z");
    }

    #[test]
    fn timings_are_checked_as_client_go_does() {
        let ok = LeaderElection::new(LEASE_NAMESPACE, LEASE_NAME, "me");
        ok.validate().unwrap();
        let with = |lease: u64, renew: u64, retry: u64| LeaderElection {
            lease_duration: Duration::from_millis(lease),
            renew_deadline: Duration::from_millis(renew),
            retry_period: Duration::from_millis(retry),
            ..ok.clone()
        };
        // (lease, renew, retry) in ms, valid?
        let cases = [
            (30_000, 15_000, 5_000, true),
            (3_000, 2_000, 500, true),
            (15_000, 15_000, 5_000, false),
            (15_000, 20_000, 5_000, false),
            (30_000, 6_000, 5_000, false),
            (30_000, 6_001, 5_000, true),
            (30_000, 15_000, 0, false),
            (900, 500, 100, false),
        ];
        for (lease, renew, retry, valid) in cases {
            assert_eq!(
                with(lease, renew, retry).validate().is_ok(),
                valid,
                "lease {lease}ms renew {renew}ms retry {retry}ms"
            );
        }
        let err = with(15_000, 20_000, 5_000).validate().unwrap_err();
        assert!(err.to_string().contains("renew deadline (20s)"), "{err}");
        let anonymous = LeaderElection {
            identity: String::new(),
            ..ok
        };
        assert!(anonymous.validate().is_err());
    }

    #[test]
    fn identities_are_host_underscore_uuid_and_unique() {
        let a = new_identity("node-1");
        let b = new_identity("node-1");
        assert_ne!(a, b);
        let (host, id) = a.split_once('_').unwrap();
        assert_eq!(host, "node-1");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }

    #[test]
    fn jitter_stays_within_one_to_two_point_two_periods() {
        let period = Duration::from_millis(500);
        for _ in 0..1000 {
            let d = jittered(period);
            assert!(d >= period && d < period.mul_f64(2.2), "{d:?}");
        }
    }
}
