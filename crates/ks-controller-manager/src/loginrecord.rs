//! The `loginrecord` controller: keeps users' last login time and trims
//! their login history.
//!
//! KubeSphere v3.4 semantics (`pkg/controller/loginrecord/
//! loginrecord_controller.go`), for each LoginRecord, whose user is named
//! by its label `iam.kubesphere.io/user-ref`:
//!
//! - a record without a user (no label, or no such user) is deleted;
//! - the user's `status.lastLoginTime` moves forward to the record's
//!   `creationTimestamp`, unless the user is being deleted;
//! - a user keeps at most `loginHistoryMaximumEntries` records: the oldest
//!   beyond that are deleted;
//! - a record older than `loginHistoryRetentionPeriod` is deleted; a younger
//!   one is looked at again the moment it expires.
//!
//! Deliberate differences from KubeSphere:
//!
//! - only successful logins set `lastLoginTime` (KubeSphere takes failed
//!   attempts too); ks-apiserver's login path, which also writes it, sets
//!   it on success only, and the two agree;
//! - `lastLoginTime` is written with a status merge patch, not an update of
//!   the whole user; it only ever moves forward, so a concurrent login that
//!   wrote a later time is corrected by the next reconcile, which a change
//!   of the user triggers;
//! - a change of a user reconciles its newest record, so a user that was
//!   deleted takes all its records with it at once, even without the
//!   `user` controller;
//! - the `Synced` Event is recorded only when the reconcile wrote
//!   something and the record is still there (KubeSphere records it on
//!   every reconcile);
//! - every error is retried with exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use ks_types::iam::{LoginRecord, User};
use ks_types::meta::USER_REFERENCE_LABEL;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use serde_json::json;

use crate::runtime::{Reconciler, delete_opt, get_opt, labelled, normal_event, recorder};
use crate::{Error, Settings, Start};

/// The controller's name in `--controllers`.
pub const NAME: &str = "loginrecord";
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "loginrecord-controller";

struct LoginRecordReconciler {
    records: Api<LoginRecord>,
    users: Api<User>,
    /// Every LoginRecord, as the controller's watch sees them.
    store: Store<LoginRecord>,
    recorder: Recorder,
    settings: Settings,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let records: Api<LoginRecord> = Api::all(start.client.clone());
    let users: Api<User> = Api::all(start.client.clone());
    let controller = Controller::new(records.clone(), watcher::Config::default());
    let store = controller.store();
    let newest = store.clone();
    // Looking at one record of a user looks at all of them; the newest is
    // the one that decides the last login time.
    let controller = controller.watches(users.clone(), watcher::Config::default(), move |user| {
        newest_record(&newest, &user.name_any())
    });
    let reconciler = LoginRecordReconciler {
        records,
        users,
        store,
        recorder: recorder(&start.client, REPORTER),
        settings: start.settings.clone(),
    };
    start.drive(controller, reconciler)
}

fn newest_record(store: &Store<LoginRecord>, user: &str) -> Option<ObjectRef<LoginRecord>> {
    labelled(store, USER_REFERENCE_LABEL, user)
        .iter()
        .map(|r| Entry::of(r))
        .max_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)))
        .map(|e| ObjectRef::new(&e.name))
}

impl Reconciler for LoginRecordReconciler {
    type Object = LoginRecord;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, record: Arc<LoginRecord>) -> Result<Action, Error> {
        if record.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        let name = record.name_any();
        let username = record
            .labels()
            .get(USER_REFERENCE_LABEL)
            .cloned()
            .unwrap_or_default();
        let user = if username.is_empty() {
            None
        } else {
            get_opt(&self.users, &username, "User").await?
        };
        let Some(user) = user else {
            // Nobody to log in as: the record and its siblings go.
            let mut names = vec![name];
            if !username.is_empty() {
                names.extend(
                    labelled(&self.store, USER_REFERENCE_LABEL, &username)
                        .iter()
                        .map(|r| r.name_any()),
                );
            }
            names.sort();
            names.dedup();
            for n in &names {
                delete_opt(&self.records, n, "LoginRecord").await?;
            }
            return Ok(Action::await_change());
        };

        let entries: Vec<Entry> = labelled(&self.store, USER_REFERENCE_LABEL, &username)
            .iter()
            .filter(|r| r.metadata.deletion_timestamp.is_none())
            .map(|r| Entry::of(r))
            .collect();
        let last_login = user.status.last_login_time.as_ref().map(|t| t.0);
        let plan = plan(
            &Entry::of(&record),
            &entries,
            last_login,
            jiff::Timestamp::now(),
            &self.settings,
        );

        let mut wrote = false;
        if let Some(at) = plan.last_login_time
            && user.metadata.deletion_timestamp.is_none()
        {
            let patch = json!({"status": {"lastLoginTime": Time(at)}});
            self.users
                .patch_status(&username, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(Error::kube("update status of", "User", &username))?;
            wrote = true;
        }
        for n in &plan.delete {
            wrote |= delete_opt(&self.records, n, "LoginRecord").await?;
        }
        if plan.deletes_itself {
            return Ok(Action::await_change());
        }
        if wrote {
            normal_event(
                &self.recorder,
                &*record,
                "Synced",
                "LoginRecord synced successfully".to_owned(),
            )
            .await;
        }
        Ok(plan
            .expires_in
            .map_or_else(Action::await_change, Action::requeue))
    }
}

/// What the decision needs to know of a record.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    name: String,
    /// Its `creationTimestamp` (the epoch if it has none: it is the
    /// oldest, and expired).
    created: jiff::Timestamp,
    success: bool,
}

impl Entry {
    fn of(record: &LoginRecord) -> Entry {
        Entry {
            name: record.name_any(),
            created: record
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0),
            success: record.spec.success,
        }
    }
}

/// What one reconcile of a record does.
#[derive(Debug, Default, PartialEq)]
struct Plan {
    /// The user's new `status.lastLoginTime`, if it changes.
    last_login_time: Option<jiff::Timestamp>,
    /// Records to delete (oldest first), maybe the reconciled one.
    delete: Vec<String>,
    /// Whether the reconciled record is among them.
    deletes_itself: bool,
    /// When the reconciled record expires, if it stays.
    expires_in: Option<Duration>,
}

/// Decides for `this`, one of the user's live `records` (it is added if
/// missing, as when the watch has not caught up), given the user's
/// `last_login` and the history limits.
fn plan(
    this: &Entry,
    records: &[Entry],
    last_login: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
    settings: &Settings,
) -> Plan {
    let mut all: Vec<&Entry> = records.iter().collect();
    if !all.iter().any(|e| e.name == this.name) {
        all.push(this);
    }
    // Oldest first; the name breaks ties so every reconcile picks the same.
    all.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));

    let newest_login = all.iter().filter(|e| e.success).map(|e| e.created).max();
    let last_login_time = newest_login.filter(|t| last_login.is_none_or(|l| l < *t));

    let excess = all
        .len()
        .saturating_sub(settings.login_history_maximum_entries);
    let mut delete: Vec<String> = all[..excess].iter().map(|e| e.name.clone()).collect();
    let mut deletes_itself = delete.contains(&this.name);

    let mut expires_in = None;
    if !deletes_itself {
        let expiry = this
            .created
            .checked_add(settings.login_history_retention_period)
            .unwrap_or(jiff::Timestamp::MAX);
        match Duration::try_from(expiry.duration_since(now)) {
            Ok(left) if !left.is_zero() => expires_in = Some(left),
            // Expired (a negative duration does not convert).
            _ => {
                delete.push(this.name.clone());
                deletes_itself = true;
            }
        }
    }
    Plan {
        last_login_time,
        delete,
        deletes_itself,
        expires_in,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(s).unwrap()
    }

    fn entry(name: &str, created: i64, success: bool) -> Entry {
        Entry {
            name: name.into(),
            created: at(created),
            success,
        }
    }

    fn limits(max: usize, retention: u64) -> Settings {
        Settings {
            login_history_maximum_entries: max,
            login_history_retention_period: Duration::from_secs(retention),
            ..Settings::default()
        }
    }

    #[test]
    fn plan_table() {
        let now = 1_000;
        let history = [
            entry("a", 100, true),
            entry("b", 200, false),
            entry("c", 300, true),
            entry("d", 400, false),
        ];
        // (this, last login, max entries, retention,
        //  new last login, deletions, deletes itself, expires in)
        type Case = (
            &'static str,
            Option<i64>,
            usize,
            u64,
            Option<i64>,
            &'static [&'static str],
            bool,
            Option<u64>,
        );
        let cases: &[Case] = &[
            // Under the limit, young: the last successful login is taken.
            ("d", None, 10, 2000, Some(300), &[], false, Some(1400)),
            ("d", Some(200), 10, 2000, Some(300), &[], false, Some(1400)),
            // Settled, or the user saw a later login: nothing to write.
            ("d", Some(300), 10, 2000, None, &[], false, Some(1400)),
            ("d", Some(900), 10, 2000, None, &[], false, Some(1400)),
            // Over the limit: the oldest go, wherever this one is.
            (
                "d",
                Some(300),
                2,
                2000,
                None,
                &["a", "b"],
                false,
                Some(1400),
            ),
            ("a", Some(300), 2, 2000, None, &["a", "b"], true, None),
            (
                "c",
                Some(300),
                0,
                2000,
                None,
                &["a", "b", "c", "d"],
                true,
                None,
            ),
            // Expired: this one goes; expiring exactly now counts.
            ("b", Some(300), 10, 500, None, &["b"], true, None),
            ("b", Some(300), 10, 800, None, &["b"], true, None),
            ("b", Some(300), 10, 801, None, &[], false, Some(1)),
        ];
        for (i, (this, last, max, retention, want_last, want_delete, itself, expires)) in
            cases.iter().enumerate()
        {
            let this = history.iter().find(|e| e.name == *this).unwrap();
            let p = plan(
                this,
                &history,
                last.map(at),
                at(now),
                &limits(*max, *retention),
            );
            assert_eq!(p.last_login_time, want_last.map(at), "case {i}");
            assert_eq!(p.delete, *want_delete, "case {i}");
            assert_eq!(p.deletes_itself, *itself, "case {i}");
            assert_eq!(p.expires_in, expires.map(Duration::from_secs), "case {i}");
        }
    }

    #[test]
    fn a_record_the_watch_has_not_seen_counts() {
        let history = [entry("a", 100, true)];
        let p = plan(
            &entry("b", 200, true),
            &history,
            Some(at(100)),
            at(300),
            &limits(1, 1000),
        );
        assert_eq!(p.last_login_time, Some(at(200)));
        assert_eq!(p.delete, ["a"]);
        assert!(!p.deletes_itself);
    }

    #[test]
    fn ties_are_broken_by_name() {
        let history = [entry("b", 100, true), entry("a", 100, true)];
        let p = plan(&history[0], &history, None, at(100), &limits(1, 1000));
        assert_eq!(p.delete, ["a"]);
    }

    #[test]
    fn records_without_a_creation_time_are_expired() {
        let r: LoginRecord = serde_json::from_value(json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "LoginRecord",
            "metadata": {"name": "x"},
            "spec": {"type": "Token", "provider": "", "sourceIP": "", "success": true, "reason": ""},
        }))
        .unwrap();
        let e = Entry::of(&r);
        assert_eq!(e.created, jiff::Timestamp::UNIX_EPOCH);
        let p = plan(&e, &[], None, at(10), &limits(5, 5));
        assert!(p.deletes_itself);
    }
}
