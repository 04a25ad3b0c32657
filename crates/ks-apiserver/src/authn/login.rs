//! Password logins, shared by the OAuth password grant and basic
//! authentication: the bcrypt check (cached), login records, and the
//! lockout after repeated failures.
//!
//! KubeSphere 3.x counts failures in a controller and locks the user some
//! time later; here the count and the lock are in the login path, so the
//! attempt after the limit is refused at once. The lock is the user's
//! `status.state: AuthLimitExceeded`, visible to everyone, and lifts on
//! the first login attempt after `authenticateRateLimiterDuration` has
//! passed since it was set (the user controller also lifts it then).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde_json::json;

use super::users::{PasswordCache, UserRecord, Users};
use crate::internal::Internal;

/// A bcrypt hash of a random password nobody has, checked when the login
/// names no user, so that answering "no such user" takes as long as
/// "wrong password".
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    let secret = uuid::Uuid::new_v4().to_string();
    super::hash_password(&secret).unwrap_or_default()
});

/// How a login arrived, as a LoginRecord's `spec.type` says
/// (KubeSphere's values: `Token` for the password grant, `Basic` for
/// basic authentication; `OAuth` is for identity providers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginType {
    /// The OAuth password grant.
    Token,
    /// Basic authentication on a request.
    Basic,
}

impl LoginType {
    fn as_str(self) -> &'static str {
        match self {
            LoginType::Token => "Token",
            LoginType::Basic => "Basic",
        }
    }
}

/// Where a login came from, for its record.
#[derive(Clone, Debug, Default)]
pub struct LoginSource {
    /// The client address (see [`crate::context::RequestRecord::source_ips`]).
    pub ip: String,
    /// The `User-Agent`.
    pub user_agent: String,
}

/// Why a login failed. Wrong password and unknown user are one variant:
/// the answer never tells which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, or wrong password.
    #[error("incorrect username or password")]
    InvalidCredentials,
    /// The user is disabled.
    #[error("user is disabled")]
    Disabled,
    /// Too many failures: locked for this long yet.
    #[error("too many failed login attempts; try again later")]
    Locked {
        /// Until the lock lifts.
        retry_after: Duration,
    },
    /// The store or the hash could not be used.
    #[error("login failed: {0}")]
    Internal(String),
}

/// The lockout rules (KubeSphere's `authenticateRateLimiterMaxTries` and
/// `authenticateRateLimiterDuration`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// Failures within `window` that lock the user.
    pub max_tries: u32,
    /// The window, and how long a lock lasts.
    pub window: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            max_tries: 10,
            window: Duration::from_secs(600),
        }
    }
}

/// Checks passwords and keeps the records.
pub struct Logins {
    users: Arc<Users>,
    cache: PasswordCache,
    internal: Internal,
    lockout: Lockout,
    /// Recent failure times per user (seconds), at most `max_tries`.
    failures: Mutex<FxHashMap<String, VecDeque<i64>>>,
    /// Locks set here, until the informer shows them: user -> lock time.
    locked: Mutex<FxHashMap<String, i64>>,
    /// bcrypt verifications run (the costly part of a login).
    checks: AtomicU64,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins")
            .field("lockout", &self.lockout)
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

impl Logins {
    /// Password logins against `users`, writing through `internal`.
    pub fn new(
        users: Arc<Users>,
        cache: PasswordCache,
        internal: Internal,
        lockout: Lockout,
    ) -> Self {
        Logins {
            users,
            cache,
            internal,
            lockout,
            failures: Mutex::default(),
            locked: Mutex::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// The users directory.
    pub fn users(&self) -> &Arc<Users> {
        &self.users
    }

    /// How many bcrypt verifications logins have cost so far (cached
    /// basic-authentication credentials cost none).
    pub fn password_checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Checks `password` for the user `login` names (name or email).
    /// Records the attempt (except a basic-auth credential already
    /// verified before, which would otherwise write a record per request)
    /// and applies the lockout.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        kind: LoginType,
        source: &LoginSource,
    ) -> Result<Arc<UserRecord>, LoginError> {
        let Some(user) = self.users.find_login(login) else {
            let decoy = tokio::task::spawn_blocking(|| DECOY_HASH.clone())
                .await
                .unwrap_or_default();
            let _ = verify(password.to_owned(), decoy).await;
            return Err(LoginError::InvalidCredentials);
        };
        let now = now();
        if let Some(retry_after) = self.lock_remaining(&user, now) {
            return Err(LoginError::Locked { retry_after });
        }
        if user.state == "AuthLimitExceeded" {
            self.unlock(&user.name, now).await;
        }
        if user.is_disabled() {
            self.record(&user.name, kind, source, false, "user is disabled");
            return Err(LoginError::Disabled);
        }
        let Some(hash) = user.password_hash.clone() else {
            self.record(&user.name, kind, source, false, "the user has no password");
            return Err(LoginError::InvalidCredentials);
        };
        if kind == LoginType::Basic && self.cache.contains(&user.name, password, &hash) {
            return Ok(user);
        }
        self.checks.fetch_add(1, Ordering::Relaxed);
        match verify(password.to_owned(), hash.clone()).await? {
            true => {
                self.cache.insert(&user.name, password, &hash);
                self.failures
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&user.name);
                self.record(&user.name, kind, source, true, "");
                Ok(user)
            }
            false => {
                self.record(&user.name, kind, source, false, "incorrect password");
                if self.count_failure(&user.name, now) {
                    self.lock(&user.name, now).await;
                }
                Err(LoginError::InvalidCredentials)
            }
        }
    }

    /// How long `user` stays locked, if locked at `now`.
    fn lock_remaining(&self, user: &UserRecord, now: i64) -> Option<Duration> {
        let local = self
            .locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user.name)
            .copied();
        let stored = (user.state == "AuthLimitExceeded").then(|| user.last_transition.unwrap_or(0));
        let since = local.max(stored)?;
        let until = since.saturating_add(self.lockout.window.as_secs() as i64);
        (until > now).then(|| Duration::from_secs((until - now) as u64))
    }

    /// Counts a failure; true when it reaches the limit.
    fn count_failure(&self, user: &str, now: i64) -> bool {
        let window = self.lockout.window.as_secs() as i64;
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let times = failures.entry(user.to_owned()).or_default();
        times.retain(|&t| t > now - window);
        times.push_back(now);
        while times.len() > self.lockout.max_tries as usize {
            times.pop_front();
        }
        times.len() >= self.lockout.max_tries as usize
    }

    async fn lock(&self, user: &str, now: i64) {
        self.locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.to_owned(), now);
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(user);
        let reason = format!(
            "{} failed login attempts within {}s",
            self.lockout.max_tries,
            self.lockout.window.as_secs()
        );
        self.set_state(user, "AuthLimitExceeded", &reason, now)
            .await;
        tracing::warn!(user, "user locked after repeated failed logins");
    }

    async fn unlock(&self, user: &str, now: i64) {
        self.locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(user);
        self.set_state(user, "Active", "", now).await;
    }

    async fn set_state(&self, user: &str, state: &str, reason: &str, now: i64) {
        let patch = json!({"status": {
            "state": state,
            "reason": if reason.is_empty() { serde_json::Value::Null } else { reason.into() },
            "lastTransitionTime": rfc3339(now),
        }});
        let path = format!("/apis/iam.kubesphere.io/v1alpha2/users/{user}/status");
        if let Err(e) = self.internal.merge_patch(&path, &patch).await {
            tracing::warn!(user, error = %e, "could not update the user's state");
        }
    }

    /// Writes a LoginRecord (and, on success, the user's
    /// `status.lastLoginTime`) in the background: a login never waits for
    /// its record.
    fn record(
        &self,
        user: &str,
        kind: LoginType,
        source: &LoginSource,
        success: bool,
        reason: &str,
    ) {
        let internal = self.internal.clone();
        let user = user.to_owned();
        let record = json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2",
            "kind": "LoginRecord",
            "metadata": {
                "generateName": format!("{user}-"),
                "labels": {ks_types::meta::USER_REFERENCE_LABEL: user},
            },
            "spec": {
                "type": kind.as_str(),
                "provider": "",
                "success": success,
                "reason": reason,
                "sourceIP": source.ip,
                "userAgent": source.user_agent,
            }
        });
        tokio::spawn(async move {
            if let Err(e) = internal
                .create("/apis/iam.kubesphere.io/v1alpha2/loginrecords", &record)
                .await
            {
                tracing::warn!(%user, error = %e, "could not write a login record");
            }
            if success {
                let patch = json!({"status": {"lastLoginTime": rfc3339(now())}});
                let path = format!("/apis/iam.kubesphere.io/v1alpha2/users/{user}/status");
                if let Err(e) = internal.merge_patch(&path, &patch).await {
                    tracing::debug!(%user, error = %e, "could not record the last login time");
                }
            }
        });
    }
}

/// bcrypt's verification, off the async threads (it takes ~50 ms at cost
/// 10).
async fn verify(password: String, hash: String) -> Result<bool, LoginError> {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .map_err(|e| LoginError::Internal(e.to_string()))
}
