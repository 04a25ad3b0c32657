//! The `loginrecord` controller against an in-process ks-apiserver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ks_controller_manager::Settings;
use ks_types::iam::{LoginRecord, User};
use kube::api::{Api, DeleteParams};
use serde_json::json;

mod common;
use common::{Harness, seconds_ago};

const USER_REF: &str = "iam.kubesphere.io/user-ref";

fn settings(max: usize, retention: Duration) -> Settings {
    Settings {
        login_history_maximum_entries: max,
        login_history_retention_period: retention,
        ..Settings::default()
    }
}

async fn create_user(h: &Harness, name: &str) -> User {
    h.create(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": name},
        "spec": {"email": format!("{name}@example.com"), "password": "P@88w0rd"},
    }))
    .await
}

/// A LoginRecord of `user` (no label if `None`) created at `created`.
async fn put_record(h: &Harness, name: &str, user: Option<&str>, created: &str, success: bool) {
    let labels = match user {
        Some(u) => json!({USER_REF: u}),
        None => json!({}),
    };
    h.put(
        &format!("/iam.kubesphere.io/loginrecords/{name}"),
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "LoginRecord",
               "metadata": {"name": name, "uid": format!("uid-{name}"),
                            "creationTimestamp": created, "labels": labels},
               "spec": {"type": "Basic", "provider": "", "sourceIP": "10.0.0.1",
                        "success": success,
                        "reason": if success { "authenticated successfully" } else { "incorrect password" }}}),
    )
    .await;
}

fn last_login(user: &User) -> Option<String> {
    user.status
        .last_login_time
        .as_ref()
        .map(|t| t.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_login_follows_the_newest_success_and_history_is_trimmed() {
    let h = Harness::with("loginrecord", settings(3, Duration::from_secs(3600))).await;
    create_user(&h, "alice").await;
    create_user(&h, "bob").await;
    let times: Vec<String> = (0..5).map(|i| seconds_ago(50 - 10 * i)).collect();
    for (i, t) in times.iter().enumerate() {
        // The newest attempt failed: it is no login.
        put_record(&h, &format!("alice-{i}"), Some("alice"), t, i != 4).await;
    }
    put_record(&h, "bob-0", Some("bob"), &seconds_ago(5), true).await;

    let records: Api<LoginRecord> = h.api();
    // At most 3 records per user: the 2 oldest go.
    h.wait_names(
        &records,
        "iam.kubesphere.io/user-ref=alice",
        &["alice-2", "alice-3", "alice-4"],
    )
    .await;
    let users: Api<User> = h.api();
    h.wait_for(&users, "alice", "last login at the newest success", |u| {
        last_login(u).as_deref() == Some(times[3].as_str())
    })
    .await;
    h.wait_for(&users, "bob", "last login", |u| last_login(u).is_some())
        .await;
    h.assert_resync_writes_nothing().await;

    // A later login moves the time forward; an older one does not move it back.
    let later = seconds_ago(1);
    put_record(&h, "alice-5", Some("alice"), &later, true).await;
    h.wait_for(&users, "alice", "last login at the later success", |u| {
        last_login(u).as_deref() == Some(later.as_str())
    })
    .await;
    h.wait_names(
        &records,
        "iam.kubesphere.io/user-ref=alice",
        &["alice-3", "alice-4", "alice-5"],
    )
    .await;
    h.assert_resync_writes_nothing().await;
    assert_eq!(
        last_login(&users.get("alice").await.unwrap()).as_deref(),
        Some(later.as_str())
    );
    assert_eq!(
        h.names(&records, "iam.kubesphere.io/user-ref=bob").await,
        ["bob-0"]
    );
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_go_when_they_expire() {
    let retention = 3600;
    let h = Harness::with("loginrecord", settings(100, Duration::from_secs(retention))).await;
    create_user(&h, "carol").await;
    put_record(
        &h,
        "carol-old",
        Some("carol"),
        &seconds_ago(2 * retention as i64),
        true,
    )
    .await;
    // Expires a moment after the controller first sees it: it is
    // requeued for that moment.
    put_record(
        &h,
        "carol-soon",
        Some("carol"),
        &seconds_ago(retention as i64 - 2),
        true,
    )
    .await;
    put_record(&h, "carol-new", Some("carol"), &seconds_ago(0), false).await;

    let records: Api<LoginRecord> = h.api();
    h.wait_names(&records, "iam.kubesphere.io/user-ref=carol", &["carol-new"])
        .await;
    h.assert_resync_writes_nothing().await;
    assert_eq!(
        h.names(&records, "iam.kubesphere.io/user-ref=carol").await,
        ["carol-new"]
    );
    // Expired records still count as logins.
    let users: Api<User> = h.api();
    assert!(last_login(&users.get("carol").await.unwrap()).is_some());
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_without_a_user_are_deleted() {
    let h = Harness::with("loginrecord", Settings::default()).await;
    create_user(&h, "dave").await;
    create_user(&h, "erin").await;
    let now = seconds_ago(0);
    put_record(&h, "ghost-0", Some("ghost"), &now, true).await;
    put_record(&h, "nobody-0", None, &now, true).await;
    for i in 0..3 {
        put_record(&h, &format!("dave-{i}"), Some("dave"), &now, true).await;
        put_record(&h, &format!("erin-{i}"), Some("erin"), &now, true).await;
    }
    let records: Api<LoginRecord> = h.api();
    h.wait_gone(&records, "ghost-0").await;
    h.wait_gone(&records, "nobody-0").await;
    let users: Api<User> = h.api();
    h.wait_for(&users, "dave", "last login", |u| last_login(u).is_some())
        .await;

    // Without the `user` controller the user goes at once; its records
    // follow.
    users
        .delete("dave", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_names(&records, "iam.kubesphere.io/user-ref=dave", &[])
        .await;
    h.assert_resync_writes_nothing().await;
    assert_eq!(
        h.names(&records, "iam.kubesphere.io/user-ref=erin").await,
        ["erin-0", "erin-1", "erin-2"]
    );
    assert_eq!(h.errors(), 0);
    h.stop().await;
}
