//! The `globalrolebinding` controller against an in-process ks-apiserver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use ks_types::iam::GlobalRoleBinding;
use kube::ResourceExt as _;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

fn users(crb: &ClusterRoleBinding) -> Vec<&str> {
    crb.subjects
        .iter()
        .flatten()
        .map(|s| s.name.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_admins_are_cluster_admins_in_step_with_the_binding() {
    let h = Harness::start("globalrolebinding").await;
    // The bootstrap admin's binding got its ClusterRoleBinding.
    let crbs = h.api::<ClusterRoleBinding>();
    h.wait_for(
        &crbs,
        "admin-cluster-admin",
        "the bootstrap admin's",
        |crb| users(crb) == ["admin"] && crb.role_ref.name == "cluster-admin",
    )
    .await;

    let grbs = h.api::<GlobalRoleBinding>();
    let grb: GlobalRoleBinding = h
        .create(json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRoleBinding",
            "metadata": {"name": "ops-platform-admin"},
            "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "GlobalRole", "name": "platform-admin"},
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ops"},
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"},
            ],
        }))
        .await;
    let uid = grb.uid().unwrap();
    let crb = h
        .wait_for(&crbs, "alice-cluster-admin", "created", |crb| {
            users(crb) == ["alice", "bob"]
        })
        .await;
    assert!(
        crb.owner_references()
            .iter()
            .any(|r| r.uid == uid && r.controller == Some(true))
    );

    // Subjects change: the ClusterRoleBinding follows.
    grbs.patch(
        "ops-platform-admin",
        &PatchParams::default(),
        &Patch::Merge(json!({"subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
        ]})),
    )
    .await
    .unwrap();
    h.wait_for(&crbs, "alice-cluster-admin", "bob removed", |crb| {
        users(crb) == ["alice"]
    })
    .await;

    // A binding to another role gets nothing.
    h.create::<GlobalRoleBinding>(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRoleBinding",
        "metadata": {"name": "carol-platform-regular"},
        "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "GlobalRole", "name": "platform-regular"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "carol"}],
    }))
    .await;
    h.assert_resync_writes_nothing().await;
    assert!(crbs.get_opt("carol-cluster-admin").await.unwrap().is_none());

    // A deleted ClusterRoleBinding is put back; deleting the binding takes
    // it away for good.
    crbs.delete("alice-cluster-admin", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_for(&crbs, "alice-cluster-admin", "recreated", |crb| {
        users(crb) == ["alice"]
    })
    .await;
    grbs.delete("ops-platform-admin", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&crbs, "alice-cluster-admin").await;
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_default_cluster_roles_are_served() {
    let h = Harness::start("user").await;
    let roles = h.api::<ClusterRole>();
    for name in ["cluster-admin", "admin", "edit", "view"] {
        let role = roles.get(name).await.unwrap();
        assert!(
            !role.rules.unwrap_or_default().is_empty(),
            "{name} grants nothing"
        );
    }
    h.stop().await;
}
