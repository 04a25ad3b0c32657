//! The `group` and `groupbinding` controllers against an in-process
//! ks-apiserver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use ks_controller_manager::{group, groupbinding};
use ks_types::iam::{Group, GroupBinding, User, WorkspaceRoleBinding};
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};

mod common;
use common::Harness;

const IAM: &str = "iam.kubesphere.io/v1alpha2";
const WORKSPACE: &str = "kubesphere.io/workspace";
const PARENT: &str = "iam.kubesphere.io/group-parent";
const GROUP_REF: &str = "iam.kubesphere.io/group-ref";
const USER_REF: &str = "iam.kubesphere.io/user-ref";

fn meta(name: &str, labels: Value) -> Value {
    json!({"name": name, "uid": format!("uid-{name}"),
           "creationTimestamp": "2024-01-01T00:00:00Z", "labels": labels})
}

async fn put_workspace(h: &Harness, name: &str) {
    h.put(
        &format!("/tenant.kubesphere.io/workspacetemplates/{name}"),
        json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
               "metadata": meta(name, json!({})),
               "spec": {"template": {"spec": {"manager": "admin"}}, "placement": {}}}),
    )
    .await;
}

async fn put_group(h: &Harness, name: &str, labels: Value) {
    h.put(
        &format!("/iam.kubesphere.io/groups/{name}"),
        json!({"apiVersion": IAM, "kind": "Group", "metadata": meta(name, labels), "spec": {}}),
    )
    .await;
}

async fn put_binding(h: &Harness, name: &str, group: &str, users: &[&str]) {
    let mut labels = json!({GROUP_REF: group});
    if let [user] = users {
        labels[USER_REF] = json!(user);
    }
    h.put(
        &format!("/iam.kubesphere.io/groupbindings/{name}"),
        json!({"apiVersion": IAM, "kind": "GroupBinding", "metadata": meta(name, labels),
               "groupRef": {"apiGroup": "iam.kubesphere.io", "kind": "Group", "name": group},
               "users": users}),
    )
    .await;
}

async fn create_user(h: &Harness, name: &str) -> User {
    h.create(json!({
        "apiVersion": IAM, "kind": "User", "metadata": {"name": name},
        "spec": {"email": format!("{name}@example.com")},
    }))
    .await
}

fn controller_ref(api_version: &str, kind: &str, name: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn workspace_ref(name: &str) -> OwnerReference {
    controller_ref("tenant.kubesphere.io/v1alpha2", "WorkspaceTemplate", name)
}

fn has_finalizer<K: kube::Resource>(obj: &K, finalizer: &str) -> bool {
    obj.finalizers().iter().any(|f| f == finalizer)
}

async fn wait_groups_of(h: &Harness, user: &str, want: &[&str]) {
    let users: Api<User> = h.api();
    h.wait_for(&users, user, &format!("groups {want:?}"), |u| {
        u.spec.groups == want
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_owned_by_their_parent_or_else_their_workspace() {
    let h = Harness::start("group").await;
    put_workspace(&h, "ws").await;
    put_group(&h, "devs", json!({WORKSPACE: "ws"})).await;
    put_group(&h, "backend", json!({WORKSPACE: "ws", PARENT: "devs"})).await;
    // Its parent does not exist: it becomes a top-level group.
    put_group(&h, "strays", json!({WORKSPACE: "ws", PARENT: "gone"})).await;
    put_group(&h, "early", json!({WORKSPACE: "later"})).await;
    // A group owned by another workspace moves to the one it is labelled with.
    let mut moved = meta("moved", json!({WORKSPACE: "ws"}));
    moved["ownerReferences"] = json!([workspace_ref("old")]);
    h.put(
        "/iam.kubesphere.io/groups/moved",
        json!({"apiVersion": IAM, "kind": "Group", "metadata": moved, "spec": {}}),
    )
    .await;

    let groups: Api<Group> = h.api();
    let owned_by = |name: &'static str, want: OwnerReference| {
        let groups = groups.clone();
        let h = &h;
        async move {
            h.wait_for(&groups, name, &format!("owned by {}", want.name), |g| {
                has_finalizer(g, group::FINALIZER) && g.owner_references() == [want.clone()]
            })
            .await
        }
    };
    owned_by("devs", workspace_ref("ws")).await;
    owned_by("backend", controller_ref(IAM, "Group", "devs")).await;
    owned_by("moved", workspace_ref("ws")).await;
    let strays = owned_by("strays", workspace_ref("ws")).await;
    assert!(!strays.labels().contains_key(PARENT));
    h.wait_for(&groups, "early", "finalizer", |g| {
        has_finalizer(g, group::FINALIZER)
    })
    .await;

    // The workspace appears: its groups are looked at again.
    put_workspace(&h, "later").await;
    owned_by("early", workspace_ref("later")).await;

    h.assert_resync_writes_nothing().await;
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_bindings_put_users_in_groups_and_take_them_out() {
    let h = Harness::start("groupbinding").await;
    create_user(&h, "alice").await;
    create_user(&h, "bob").await;
    put_binding(&h, "devs-both", "devs", &["alice", "bob"]).await;
    put_binding(&h, "devs-alice", "devs", &["alice"]).await;
    put_binding(&h, "ops-bob", "ops", &["bob"]).await;
    // Its user does not exist yet.
    put_binding(&h, "qa-carol", "qa", &["carol"]).await;

    wait_groups_of(&h, "alice", &["devs"]).await;
    let users: Api<User> = h.api();
    h.wait_for(&users, "bob", "groups devs and ops", |u| {
        let mut g = u.spec.groups.clone();
        g.sort();
        g == ["devs", "ops"]
    })
    .await;
    create_user(&h, "carol").await;
    wait_groups_of(&h, "carol", &["qa"]).await;
    let bindings: Api<GroupBinding> = h.api();
    for b in ["devs-both", "devs-alice", "ops-bob", "qa-carol"] {
        h.wait_for(&bindings, b, "finalizer", |b| {
            has_finalizer(b, groupbinding::FINALIZER)
        })
        .await;
    }
    h.assert_resync_writes_nothing().await;

    // Alice is still in `devs` through her own binding; Bob is not.
    bindings
        .delete("devs-both", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&bindings, "devs-both").await;
    wait_groups_of(&h, "bob", &["ops"]).await;
    bindings
        .delete("devs-alice", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&bindings, "devs-alice").await;
    wait_groups_of(&h, "alice", &[]).await;

    // A group edited away by hand comes back.
    users
        .patch(
            "carol",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"groups": null}})),
        )
        .await
        .unwrap();
    wait_groups_of(&h, "carol", &["qa"]).await;

    h.assert_resync_writes_nothing().await;
    assert_eq!(
        users.get("alice").await.unwrap().spec.groups,
        Vec::<String>::new()
    );
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_group_deletes_what_refers_to_it() {
    let h = Harness::start("group,groupbinding").await;
    put_workspace(&h, "ws").await;
    put_group(&h, "devs", json!({WORKSPACE: "ws"})).await;
    put_group(&h, "backend", json!({WORKSPACE: "ws", PARENT: "devs"})).await;
    put_group(&h, "ops", json!({WORKSPACE: "ws"})).await;
    create_user(&h, "alice").await;
    let rbac = "rbac.authorization.k8s.io/v1";
    for group in ["devs", "ops"] {
        put_binding(&h, &format!("{group}-alice"), group, &["alice"]).await;
        let subjects =
            json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]);
        let labels = json!({GROUP_REF: group, WORKSPACE: "ws"});
        let wrb = format!("{group}-ws-viewer");
        h.put(
            &format!("/iam.kubesphere.io/workspacerolebindings/{wrb}"),
            json!({"apiVersion": IAM, "kind": "WorkspaceRoleBinding",
                   "metadata": meta(&wrb, labels.clone()), "subjects": subjects,
                   "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "WorkspaceRole", "name": "ws-viewer"}}),
        )
        .await;
        let crb = format!("{group}-view");
        h.put(
            &format!("/rbac.authorization.k8s.io/clusterrolebindings/{crb}"),
            json!({"apiVersion": rbac, "kind": "ClusterRoleBinding",
                   "metadata": meta(&crb, labels.clone()), "subjects": subjects,
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}}),
        )
        .await;
        for ns in ["default", "kube-system"] {
            let rb = format!("{group}-admin");
            let mut m = meta(&rb, labels.clone());
            m["namespace"] = json!(ns);
            m["uid"] = json!(format!("uid-{ns}-{rb}"));
            h.put(
                &format!("/rbac.authorization.k8s.io/rolebindings/{ns}/{rb}"),
                json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": m,
                       "subjects": subjects,
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}}),
            )
            .await;
        }
    }
    let users: Api<User> = h.api();
    h.wait_for(&users, "alice", "groups devs and ops", |u| {
        let mut g = u.spec.groups.clone();
        g.sort();
        g == ["devs", "ops"]
    })
    .await;
    let groups: Api<Group> = h.api();
    h.wait_for(&groups, "backend", "owned by devs", |g| {
        has_finalizer(g, group::FINALIZER) && !g.owner_references().is_empty()
    })
    .await;
    for g in ["devs", "ops"] {
        h.wait_for(&groups, g, "finalizer", |g| {
            has_finalizer(g, group::FINALIZER)
        })
        .await;
    }
    h.assert_resync_writes_nothing().await;

    groups
        .delete("devs", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&groups, "devs").await;
    // Its child goes through the garbage collector.
    h.wait_gone(&groups, "backend").await;
    wait_groups_of(&h, "alice", &["ops"]).await;

    let c = &h.client;
    for group in ["devs", "ops"] {
        let selector = format!("{GROUP_REF}={group}");
        let want: &[usize] = if group == "devs" {
            &[0, 0, 0, 0]
        } else {
            &[1, 1, 1, 2]
        };
        let counts = [
            h.names(&Api::<GroupBinding>::all(c.clone()), &selector)
                .await
                .len(),
            h.names(&Api::<WorkspaceRoleBinding>::all(c.clone()), &selector)
                .await
                .len(),
            h.names(&Api::<ClusterRoleBinding>::all(c.clone()), &selector)
                .await
                .len(),
            h.names(&Api::<RoleBinding>::all(c.clone()), &selector)
                .await
                .len(),
        ];
        assert_eq!(counts, want, "{group}");
    }
    h.assert_resync_writes_nothing().await;
    assert_eq!(h.errors(), 0);
    h.stop().await;
}
