//! The `user` controller: encrypts passwords, keeps users' status and cleans
//! up after deleted users.
//!
//! KubeSphere v3.4 semantics (`pkg/controller/user/user_controller.go`):
//!
//! - the finalizer [`FINALIZER`] is added to every user;
//! - the annotation `iam.kubesphere.io/globalrole` names the role of the
//!   user's GlobalRoleBinding (the first by name if there are several;
//!   removed when there is none), which is what KubeSphere's console reads
//!   (KubeSphere's API writes it; here it also follows bindings written
//!   with kubectl);
//! - a plaintext `spec.password` is replaced by its bcrypt hash (cost 10, in
//!   Go's `$2a$` form), with `iam.kubesphere.io/last-password-change-time`
//!   set and `kubectl.kubernetes.io/last-applied-configuration` removed so
//!   the plain text is kept nowhere (ks-apiserver's admission already does
//!   this; the controller covers clusters where it does not see the write);
//! - status: a user without a state and with a hash becomes `Active`; a user
//!   without a password becomes `Disabled`, unless it came from an identity
//!   provider (`iam.kubesphere.io/identify-provider`), then `Active`; a
//!   `Disabled` user is left alone; `AuthLimitExceeded` returns to `Active`
//!   once `authenticateRateLimiterDuration` has passed since its
//!   `lastTransitionTime` (the user is requeued for that moment). Every
//!   transition sets `lastTransitionTime`;
//! - on deletion, the user's GlobalRoleBindings, WorkspaceRoleBindings,
//!   ClusterRoleBindings, RoleBindings (all namespaces), GroupBindings and
//!   LoginRecords, found by the label `iam.kubesphere.io/user-ref=<user>`,
//!   are deleted before the finalizer goes.
//!
//! Deliberate differences from KubeSphere:
//!
//! - the `Synced` Event is recorded only when the reconcile wrote something,
//!   so that a resync of settled users writes nothing (KubeSphere records it
//!   on every reconcile);
//! - a transition keeps `status.lastLoginTime` (KubeSphere resets the whole
//!   status, losing it until the next login);
//! - `AuthLimitExceeded` without a `lastTransitionTime` gets one, so the
//!   block ends (KubeSphere never unblocks such a user);
//! - every error is retried with exponential backoff; nothing is dropped;
//! - blocking users after failed logins is not done here (ks-apiserver's
//!   login path does it), nor LDAP, DevOps, kubeconfig or kubefed sync.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use ks_types::iam::{
    GlobalRoleBinding, GroupBinding, LoginRecord, User, UserState, UserStatus, WorkspaceRoleBinding,
};
use ks_types::meta::{
    GLOBAL_ROLE_ANNOTATION, IDENTIFY_PROVIDER_LABEL, KUBEFED_MANAGED_LABEL,
    LAST_PASSWORD_CHANGE_TIME_ANNOTATION, USER_REFERENCE_LABEL,
};
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt as _};

use crate::runtime::{
    LABEL_VALUE_MAX_LENGTH, Reconciler, cached, cluster, delete_labelled, namespaced, normal_event,
    ready, recorder,
};
use crate::{Error, Settings, Start};

pub use ks_types::iam::is_bcrypt_hash;

/// The controller's name in `--controllers`.
pub const NAME: &str = "user";
/// The finalizer the controller keeps on users until they are cleaned up.
pub const FINALIZER: &str = ks_types::meta::USER_FINALIZER;
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "user-controller";
/// kubectl's annotation, which would keep a plaintext password.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// bcrypt cost of password hashes (Go's `bcrypt.DefaultCost`).
pub const BCRYPT_COST: u32 = 10;

struct UserReconciler {
    client: Client,
    users: Api<User>,
    global_role_bindings: Store<GlobalRoleBinding>,
    recorder: Recorder,
    settings: Settings,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let users: Api<User> = Api::all(start.client.clone());
    let (global_role_bindings, binding_changes) = cached(
        Api::<GlobalRoleBinding>::all(start.client.clone()),
        watcher::Config::default(),
    );
    let reconciler = UserReconciler {
        recorder: recorder(&start.client, REPORTER),
        users: users.clone(),
        global_role_bindings,
        client: start.client.clone(),
        settings: start.settings.clone(),
    };
    // A user's global role annotation follows its GlobalRoleBindings.
    let controller = Controller::new(users, watcher::Config::default()).watches_stream(
        binding_changes,
        |binding| {
            binding
                .subjects
                .iter()
                .filter(|s| s.kind == "User")
                .map(|s| ObjectRef::new(&s.name))
                .collect::<Vec<_>>()
        },
    );
    start.drive(controller, reconciler)
}

impl Reconciler for UserReconciler {
    type Object = User;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, user: Arc<User>) -> Result<Action, Error> {
        finalizer(&self.users, FINALIZER, user, |event| async {
            match event {
                FinalizerEvent::Apply(user) => self.apply(&user).await,
                FinalizerEvent::Cleanup(user) => self.cleanup(&user).await,
            }
        })
        .await
        .map_err(|err| Error::Finalizer(Box::new(err)))
    }
}

impl UserReconciler {
    async fn apply(&self, user: &User) -> Result<Action, Error> {
        let name = user.name_any();
        // Users propagated by kubefed are owned by the host cluster's controller.
        if user.labels().get(KUBEFED_MANAGED_LABEL).map(String::as_str) == Some("true") {
            return Ok(Action::await_change());
        }
        let mut user = user.clone();
        let mut wrote = false;

        let hash = needs_hash(&user.spec.encrypted_password);
        if hash {
            let plain = std::mem::take(&mut user.spec.encrypted_password);
            user.spec.encrypted_password = hash_password(&name, plain).await?;
            let annotations = user.annotations_mut();
            annotations.insert(
                LAST_PASSWORD_CHANGE_TIME_ANNOTATION.to_owned(),
                rfc3339_seconds(jiff::Timestamp::now()),
            );
            annotations.remove(LAST_APPLIED_ANNOTATION);
        }
        ready(&self.global_role_bindings).await?;
        let role = global_role_of(&self.global_role_bindings, &name);
        let annotated = user.annotations().get(GLOBAL_ROLE_ANNOTATION).cloned();
        if annotated != role {
            match role {
                Some(role) => user
                    .annotations_mut()
                    .insert(GLOBAL_ROLE_ANNOTATION.to_owned(), role),
                None => user.annotations_mut().remove(GLOBAL_ROLE_ANNOTATION),
            };
        }
        if hash || annotated != user.annotations().get(GLOBAL_ROLE_ANNOTATION).cloned() {
            user = self
                .users
                .replace(&name, &PostParams::default(), &user)
                .await
                .map_err(Error::kube("update", "User", &name))?;
            wrote = true;
        }

        let decision = decide_status(
            &user,
            jiff::Timestamp::now(),
            self.settings.authenticate_rate_limiter_duration,
        );
        if let Some(status) = decision.status {
            user.status = status;
            user = self
                .users
                .replace_status(&name, &PostParams::default(), &user)
                .await
                .map_err(Error::kube("update status of", "User", &name))?;
            wrote = true;
        }

        if wrote {
            normal_event(
                &self.recorder,
                &user,
                "Synced",
                "User synced successfully".to_owned(),
            )
            .await;
        }
        Ok(decision
            .requeue_after
            .map_or_else(Action::await_change, Action::requeue))
    }

    async fn cleanup(&self, user: &User) -> Result<Action, Error> {
        let name = user.name_any();
        // No label can hold a longer name, so nothing can refer to the user.
        if name.len() > LABEL_VALUE_MAX_LENGTH {
            return Ok(Action::await_change());
        }
        let selector = format!("{USER_REFERENCE_LABEL}={name}");
        let c = &self.client;
        delete_labelled(
            c,
            &selector,
            "GlobalRoleBinding",
            cluster::<GlobalRoleBinding>(c),
        )
        .await?;
        delete_labelled(
            c,
            &selector,
            "WorkspaceRoleBinding",
            cluster::<WorkspaceRoleBinding>(c),
        )
        .await?;
        delete_labelled(
            c,
            &selector,
            "ClusterRoleBinding",
            cluster::<ClusterRoleBinding>(c),
        )
        .await?;
        delete_labelled(c, &selector, "RoleBinding", namespaced::<RoleBinding>(c)).await?;
        delete_labelled(c, &selector, "GroupBinding", cluster::<GroupBinding>(c)).await?;
        delete_labelled(c, &selector, "LoginRecord", cluster::<LoginRecord>(c)).await?;
        Ok(Action::await_change())
    }
}

/// The global role of user `name`: the role of its GlobalRoleBinding (the
/// first by name when there are several, as KubeSphere reads them).
fn global_role_of(bindings: &Store<GlobalRoleBinding>, name: &str) -> Option<String> {
    bindings
        .state()
        .iter()
        .filter(|b| {
            b.meta().deletion_timestamp.is_none()
                && b.subjects
                    .iter()
                    .any(|s| s.kind == "User" && s.name == name)
        })
        .min_by(|a, b| a.metadata.name.cmp(&b.metadata.name))
        .map(|b| b.role_ref.name.clone())
}

/// What the status should become, and when to look again.
#[derive(Debug, Default, PartialEq)]
struct StatusDecision {
    status: Option<UserStatus>,
    requeue_after: Option<Duration>,
}

fn decide_status(user: &User, now: jiff::Timestamp, block: Duration) -> StatusDecision {
    let state = user.status.state.as_ref().map_or("", UserState::as_str);
    let transition = |to: UserState| UserStatus {
        state: Some(to),
        reason: String::new(),
        last_transition_time: Some(Time(now)),
        last_login_time: user.status.last_login_time.clone(),
    };
    let password = &user.spec.encrypted_password;
    if state == UserState::Disabled.as_str() {
        return StatusDecision::default();
    }
    if password.is_empty() {
        let from_provider = user
            .labels()
            .get(IDENTIFY_PROVIDER_LABEL)
            .is_some_and(|p| !p.is_empty());
        let want = if from_provider {
            UserState::Active
        } else {
            UserState::Disabled
        };
        return StatusDecision {
            status: (state != want.as_str()).then(|| transition(want)),
            requeue_after: None,
        };
    }
    if state.is_empty() && is_bcrypt_hash(password) {
        return StatusDecision {
            status: Some(transition(UserState::Active)),
            requeue_after: None,
        };
    }
    if state == UserState::AuthLimitExceeded.as_str() {
        let block_ns = i128::try_from(block.as_nanos()).unwrap_or(i128::MAX);
        return match &user.status.last_transition_time {
            Some(since) => {
                let left = since.0.as_nanosecond() + block_ns - now.as_nanosecond();
                if left <= 0 {
                    StatusDecision {
                        status: Some(transition(UserState::Active)),
                        requeue_after: None,
                    }
                } else {
                    StatusDecision {
                        status: None,
                        requeue_after: Some(nanos(left)),
                    }
                }
            }
            // Start the block now, so that it ends.
            None => StatusDecision {
                status: Some(UserStatus {
                    last_transition_time: Some(Time(now)),
                    ..user.status.clone()
                }),
                requeue_after: Some(block),
            },
        };
    }
    StatusDecision::default()
}

fn nanos(n: i128) -> Duration {
    let n = u128::try_from(n).unwrap_or(0);
    Duration::new(
        u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX),
        u32::try_from(n % 1_000_000_000).unwrap_or(0),
    )
}

/// A password that is set and not yet a bcrypt hash.
fn needs_hash(password: &str) -> bool {
    !password.is_empty() && !is_bcrypt_hash(password)
}

/// bcrypt is slow on purpose: hash on the blocking pool.
async fn hash_password(user: &str, plain: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        bcrypt::hash_with_result(plain, BCRYPT_COST)
            .map(|h| h.format_for_version(bcrypt::Version::TwoA))
    })
    .await
    .map_err(|source| Error::HashTask {
        user: user.to_owned(),
        source,
    })?
    .map_err(|source| Error::Hash {
        user: user.to_owned(),
        source,
    })
}

/// Go's `time.RFC3339` in UTC: `2006-01-02T15:04:05Z`.
fn rfc3339_seconds(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    fn user(password: &str, state: Option<&str>, since: Option<i64>) -> User {
        let mut u = User::default();
        u.metadata.name = Some("alice".into());
        u.spec.encrypted_password = password.into();
        u.status.state = state.map(UserState::from);
        u.status.last_transition_time =
            since.map(|s| Time(jiff::Timestamp::from_second(s).unwrap()));
        u
    }

    fn at(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(s).unwrap()
    }

    fn state_of(d: &StatusDecision) -> Option<&str> {
        d.status
            .as_ref()
            .and_then(|s| s.state.as_ref())
            .map(UserState::as_str)
    }

    #[test]
    fn status_table() {
        let block = Duration::from_secs(600);
        let now = 1_000_000;
        // (password, state, lastTransitionTime, new state, requeue)
        type Case = (
            &'static str,
            Option<&'static str>,
            Option<i64>,
            Option<&'static str>,
            Option<u64>,
        );
        let cases: &[Case] = &[
            (HASH, None, None, Some("Active"), None),
            (HASH, Some(""), None, Some("Active"), None),
            (HASH, Some("Active"), Some(0), None, None),
            ("", None, None, Some("Disabled"), None),
            ("", Some("Active"), None, Some("Disabled"), None),
            ("", Some("Disabled"), None, None, None),
            (HASH, Some("Disabled"), None, None, None),
            (
                HASH,
                Some("AuthLimitExceeded"),
                Some(now - 100),
                None,
                Some(500),
            ),
            (
                HASH,
                Some("AuthLimitExceeded"),
                Some(now - 600),
                Some("Active"),
                None,
            ),
            (
                HASH,
                Some("AuthLimitExceeded"),
                Some(now - 700),
                Some("Active"),
                None,
            ),
            (
                HASH,
                Some("AuthLimitExceeded"),
                None,
                Some("AuthLimitExceeded"),
                Some(600),
            ),
        ];
        for (i, (pw, state, since, want, requeue)) in cases.iter().enumerate() {
            let d = decide_status(&user(pw, *state, *since), at(now), block);
            assert_eq!(state_of(&d), *want, "case {i}");
            assert_eq!(
                d.requeue_after,
                requeue.map(Duration::from_secs),
                "case {i}"
            );
            if let Some(s) = &d.status {
                assert_eq!(s.last_transition_time, Some(Time(at(now))), "case {i}");
            }
        }
    }

    #[test]
    fn provider_users_without_password_are_active() {
        let mut u = user("", None, None);
        u.labels_mut()
            .insert(IDENTIFY_PROVIDER_LABEL.into(), "github".into());
        let d = decide_status(&u, at(5), Duration::from_secs(1));
        assert_eq!(state_of(&d), Some("Active"));
        u.status.state = Some(UserState::Active);
        assert_eq!(
            decide_status(&u, at(5), Duration::from_secs(1)),
            StatusDecision::default()
        );
    }

    #[test]
    fn transitions_keep_the_last_login() {
        let mut u = user(HASH, None, None);
        u.status.last_login_time = Some(Time(at(7)));
        let d = decide_status(&u, at(9), Duration::from_secs(1));
        assert_eq!(d.status.unwrap().last_login_time, Some(Time(at(7))));
    }

    #[test]
    fn hashes_are_recognised() {
        assert!(is_bcrypt_hash(HASH));
        assert!(!needs_hash(HASH));
        assert!(!needs_hash(""));
        assert!(needs_hash("P@88w0rd"));
        assert!(!is_bcrypt_hash(&HASH[..59]));
    }

    #[tokio::test]
    async fn hashes_in_go_form() {
        let h = hash_password("alice", "P@88w0rd".into()).await.unwrap();
        assert!(h.starts_with("$2a$10$"), "{h}");
        assert!(is_bcrypt_hash(&h));
        assert!(bcrypt::verify("P@88w0rd", &h).unwrap());
    }

    #[test]
    fn rfc3339_like_go() {
        assert_eq!(rfc3339_seconds(at(0)), "1970-01-01T00:00:00Z");
    }
}
