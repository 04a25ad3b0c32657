//! The `user` controller against an in-process ks-apiserver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use ks_controller_manager::Settings;
use ks_controller_manager::user::{FINALIZER, is_bcrypt_hash};
use ks_types::iam::{
    GlobalRoleBinding, GroupBinding, LoginRecord, User, UserState, WorkspaceRoleBinding,
};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Resource, ResourceExt as _};
use serde_json::json;

mod common;
use common::Harness;

fn users(h: &Harness) -> Api<User> {
    h.api()
}

async fn create_user(h: &Harness, name: &str, password: Option<&str>) -> User {
    let mut spec = json!({"email": format!("{name}@example.com")});
    if let Some(p) = password {
        spec["password"] = json!(p);
    }
    h.create(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": name}, "spec": spec,
    }))
    .await
}

async fn wait_user(h: &Harness, name: &str, what: &str, done: impl Fn(&User) -> bool) -> User {
    h.wait_for(&users(h), name, what, done).await
}

fn settings(block: Duration) -> Settings {
    Settings {
        authenticate_rate_limiter_duration: block,
        ..Settings::default()
    }
}

fn state(user: &User) -> &str {
    user.status.state.as_ref().map_or("", UserState::as_str)
}

fn has_finalizer(user: &User) -> bool {
    user.finalizers().iter().any(|f| f == FINALIZER)
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const CHANGED: &str = "iam.kubesphere.io/last-password-change-time";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_password_is_hashed_then_user_is_active_and_settled() {
    let h = Harness::with("user", settings(Duration::from_secs(1800))).await;
    // Past admission, which would hash the password itself.
    h.put(
        "/iam.kubesphere.io/users/alice",
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
               "metadata": {"name": "alice", "uid": "7d1f0a52-0000-4000-8000-000000000001",
                            "creationTimestamp": "2024-01-01T00:00:00Z",
                            "annotations": {LAST_APPLIED: "{\"spec\":{\"password\":\"P@88w0rd\"}}"}},
               "spec": {"email": "alice@example.com", "password": "P@88w0rd"}}),
    )
    .await;
    let user = wait_user(&h, "alice", "active with a hash", |u| {
        state(u) == "Active" && has_finalizer(u) && is_bcrypt_hash(&u.spec.encrypted_password)
    })
    .await;
    let hash = &user.spec.encrypted_password;
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    assert!(bcrypt::verify("P@88w0rd", hash).unwrap());
    assert!(!user.annotations().contains_key(LAST_APPLIED));
    let changed = &user.annotations()[CHANGED];
    assert!(changed.parse::<jiff::Timestamp>().is_ok(), "{changed}");
    assert!(user.status.last_transition_time.is_some());

    // The Synced event, in `default` as for every cluster-scoped object.
    let events: Api<Event> = Api::namespaced(h.client.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = events.list(&ListParams::default()).await.unwrap();
        let synced = list.items.iter().any(|e| {
            e.reason.as_deref() == Some("Synced")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("alice")
        });
        if synced {
            break;
        }
        assert!(Instant::now() < deadline, "no Synced event: {list:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // A resync of the settled user writes nothing.
    h.assert_resync_writes_nothing().await;
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_means_disabled_and_disabled_stays() {
    let h = Harness::with("user", settings(Duration::from_secs(1800))).await;
    create_user(&h, "bob", None).await;
    let bob = wait_user(&h, "bob", "disabled", |u| {
        state(u) == "Disabled" && has_finalizer(u)
    })
    .await;
    assert!(bob.status.last_transition_time.is_some());

    create_user(&h, "carol", Some("P@88w0rd")).await;
    let mut carol = wait_user(&h, "carol", "active", |u| {
        state(u) == "Active" && has_finalizer(u)
    })
    .await;
    carol.status.state = Some(UserState::Disabled);
    users(&h)
        .replace_status("carol", &PostParams::default(), &carol)
        .await
        .unwrap();
    h.assert_resync_writes_nothing().await;
    assert_eq!(state(&users(&h).get("carol").await.unwrap()), "Disabled");
    assert_eq!(state(&users(&h).get("bob").await.unwrap()), "Disabled");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_limit_exceeded_returns_to_active_after_the_block() {
    let h = Harness::with("user", settings(Duration::from_secs(2))).await;
    create_user(&h, "dave", Some("P@88w0rd")).await;
    let mut dave = wait_user(&h, "dave", "active", |u| state(u) == "Active").await;
    let blocked_at = jiff::Timestamp::now();
    dave.status.state = Some(UserState::AuthLimitExceeded);
    dave.status.reason = "Failed login attempts exceed 5 in last 2s".into();
    dave.status.last_transition_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        blocked_at,
    ));
    users(&h)
        .replace_status("dave", &PostParams::default(), &dave)
        .await
        .unwrap();
    let started = Instant::now();
    let dave = wait_user(&h, "dave", "active again", |u| state(u) == "Active").await;
    // The stored time may be truncated to the second.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(dave.status.reason.is_empty());
    let since = dave.status.last_transition_time.unwrap().0;
    assert!(since.as_second() > blocked_at.as_second(), "{since}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_removes_bindings_and_login_records_then_the_user() {
    let h = Harness::with("user", settings(Duration::from_secs(1800))).await;
    create_user(&h, "erin", Some("P@88w0rd")).await;
    wait_user(&h, "erin", "finalizer", |u| {
        state(u) == "Active" && has_finalizer(u)
    })
    .await;

    let iam = "iam.kubesphere.io/v1alpha2";
    let rbac = "rbac.authorization.k8s.io/v1";
    let meta = |name: &str, user: &str| {
        json!({"name": name, "uid": format!("uid-{name}"), "creationTimestamp": "2024-01-01T00:00:00Z",
               "labels": {"iam.kubesphere.io/user-ref": user}})
    };
    let subjects = |user: &str| json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]);
    for user in ["erin", "frank"] {
        let grb = format!("{user}-platform-regular");
        h.put(
            &format!("/iam.kubesphere.io/globalrolebindings/{grb}"),
            json!({"apiVersion": iam, "kind": "GlobalRoleBinding", "metadata": meta(&grb, user),
                   "subjects": subjects(user),
                   "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "GlobalRole", "name": "platform-regular"}}),
        )
        .await;
        let wrb = format!("{user}-ws-viewer");
        let mut m = meta(&wrb, user);
        m["labels"]["kubesphere.io/workspace"] = json!("ws");
        h.put(
            &format!("/iam.kubesphere.io/workspacerolebindings/{wrb}"),
            json!({"apiVersion": iam, "kind": "WorkspaceRoleBinding", "metadata": m,
                   "subjects": subjects(user),
                   "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "WorkspaceRole", "name": "ws-viewer"}}),
        )
        .await;
        let crb = format!("{user}-view");
        h.put(
            &format!("/rbac.authorization.k8s.io/clusterrolebindings/{crb}"),
            json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": meta(&crb, user),
                   "subjects": subjects(user),
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}}),
        )
        .await;
        for ns in ["default", "kube-system"] {
            let rb = format!("{user}-admin");
            let mut m = meta(&rb, user);
            m["namespace"] = json!(ns);
            m["uid"] = json!(format!("uid-{ns}-{rb}"));
            h.put(
                &format!("/rbac.authorization.k8s.io/rolebindings/{ns}/{rb}"),
                json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": m,
                       "subjects": subjects(user),
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}}),
            )
            .await;
        }
        let gb = format!("{user}-devs");
        h.put(
            &format!("/iam.kubesphere.io/groupbindings/{gb}"),
            json!({"apiVersion": iam, "kind": "GroupBinding", "metadata": meta(&gb, user),
                   "groupRef": {"apiGroup": "iam.kubesphere.io", "kind": "Group", "name": "devs"},
                   "users": [user]}),
        )
        .await;
        for i in 0..3 {
            let lr = format!("{user}-{i}");
            h.put(
                &format!("/iam.kubesphere.io/loginrecords/{lr}"),
                json!({"apiVersion": iam, "kind": "LoginRecord", "metadata": meta(&lr, user),
                       "spec": {"type": "Token", "provider": "", "sourceIP": "10.0.0.1",
                                "success": true, "reason": "authenticated"}}),
            )
            .await;
        }
    }

    users(&h)
        .delete("erin", &DeleteParams::default())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while users(&h).get_opt("erin").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "erin was not deleted");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    async fn names<K>(client: &kube::Client, user: &str) -> Vec<String>
    where
        K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let lp = ListParams::default().labels(&format!("iam.kubesphere.io/user-ref={user}"));
        Api::<K>::all(client.clone())
            .list(&lp)
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| o.name_any())
            .collect()
    }
    let c = &h.client;
    for user in ["erin", "frank"] {
        let counts = [
            names::<GlobalRoleBinding>(c, user).await.len(),
            names::<WorkspaceRoleBinding>(c, user).await.len(),
            names::<ClusterRoleBinding>(c, user).await.len(),
            names::<RoleBinding>(c, user).await.len(),
            names::<GroupBinding>(c, user).await.len(),
            names::<LoginRecord>(c, user).await.len(),
        ];
        let want = if user == "erin" {
            [0; 6]
        } else {
            [1, 1, 1, 2, 1, 3]
        };
        assert_eq!(counts, want, "{user}");
    }
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_role_annotation_follows_the_bindings() {
    const ANNOTATION: &str = "iam.kubesphere.io/globalrole";
    let h = Harness::with("user", settings(Duration::from_secs(1800))).await;
    let role_of = |u: &User| u.annotations().get(ANNOTATION).cloned();
    // The bootstrap admin's binding is to platform-admin.
    wait_user(&h, "admin", "platform-admin", |u| {
        role_of(u).as_deref() == Some("platform-admin")
    })
    .await;
    create_user(&h, "gina", Some("P@88w0rd")).await;
    let gina = wait_user(&h, "gina", "settled", |u| state(u) == "Active").await;
    assert_eq!(role_of(&gina), None);

    let grbs: Api<GlobalRoleBinding> = h.api();
    h.create::<GlobalRoleBinding>(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRoleBinding",
        "metadata": {"name": "gina-platform-regular"},
        "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "GlobalRole", "name": "platform-regular"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "gina"}],
    }))
    .await;
    wait_user(&h, "gina", "platform-regular", |u| {
        role_of(u).as_deref() == Some("platform-regular")
    })
    .await;
    grbs.delete("gina-platform-regular", &DeleteParams::default())
        .await
        .unwrap();
    wait_user(&h, "gina", "no global role", |u| role_of(u).is_none()).await;
    h.assert_resync_writes_nothing().await;
    assert_eq!(h.errors(), 0);
    h.stop().await;
}
