//! The tenant controllers (`workspacetemplate`, `workspace`,
//! `workspacerole`, `workspacerolebinding`, `namespace`) against an
//! in-process ks-apiserver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use ks_types::iam::{User, WorkspaceRole, WorkspaceRoleBinding};
use ks_types::tenant::{Workspace, WorkspaceTemplate};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Resource as _, ResourceExt as _};
use serde_json::json;

const TENANT: &str =
    "user,workspacetemplate,workspace,workspacerole,workspacerolebinding,namespace";

async fn user(h: &Harness, name: &str) -> User {
    h.create(json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": name},
        "spec": {"email": format!("{name}@example.com"), "password": "P@88w0rd"},
    }))
    .await
}

async fn template(
    h: &Harness,
    name: &str,
    manager: &str,
    finalizers: &[&str],
) -> WorkspaceTemplate {
    h.create(json!({
        "apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
        "metadata": {"name": name, "finalizers": finalizers},
        "spec": {
            "template": {
                "metadata": {"labels": {"team": "blue"}},
                "spec": {"manager": manager},
            },
            "placement": {},
        },
    }))
    .await
}

async fn namespace(h: &Harness, name: &str, workspace: &str, creator: &str) -> Namespace {
    h.create(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name,
                     "labels": {"kubesphere.io/workspace": workspace},
                     "annotations": {"kubesphere.io/creator": creator}},
    }))
    .await
}

fn controlled_by(obj: &impl kube::Resource, kind: &str, uid: &str) -> bool {
    obj.owner_references()
        .iter()
        .any(|r| r.kind == kind && r.uid == uid && r.controller == Some(true))
}

/// Waits until the workspace `ws` is complete: its Workspace, four roles
/// and manager binding, each owned as KubeSphere owns them.
async fn wait_workspace(h: &Harness, ws: &str, manager: &str) -> (WorkspaceTemplate, Workspace) {
    let templates: Api<WorkspaceTemplate> = h.api();
    let template = h
        .wait_for(&templates, ws, "finalizer", |t| {
            t.finalizers()
                .iter()
                .any(|f| f == "finalizers.workspacetemplate.kubesphere.io")
        })
        .await;
    let uid = template.uid().unwrap();
    let workspace = h
        .wait_for(&h.api::<Workspace>(), ws, "workspace", |w| {
            w.spec.manager == manager
                && w.labels().get("team").map(String::as_str) == Some("blue")
                && w.finalizers()
                    .iter()
                    .any(|f| f == "finalizers.tenant.kubesphere.io")
        })
        .await;
    for base in ["admin", "regular", "viewer", "self-provisioner"] {
        let role = h
            .wait_for(
                &h.api::<WorkspaceRole>(),
                &format!("{ws}-{base}"),
                "owned role",
                |r| controlled_by(r, "WorkspaceTemplate", &uid),
            )
            .await;
        assert_eq!(role.labels()["kubesphere.io/workspace"], ws);
        assert!(!role.rules.is_empty());
    }
    let binding = h
        .wait_for(
            &h.api::<WorkspaceRoleBinding>(),
            &format!("{ws}-admin"),
            "owned manager binding",
            |b| controlled_by(b, "WorkspaceTemplate", &uid),
        )
        .await;
    assert_eq!(binding.labels()["iam.kubesphere.io/user-ref"], manager);
    assert_eq!(binding.labels()["kubesphere.io/workspace"], ws);
    assert_eq!(binding.role_ref.name, format!("{ws}-admin"));
    assert_eq!(binding.subjects[0].name, manager);
    (template, workspace)
}

/// Waits until namespace `name` is settled in workspace `ws`.
async fn wait_namespace(h: &Harness, name: &str, ws: &Workspace, creator: &str) -> Namespace {
    let ws_uid = ws.uid().unwrap();
    let ns = h
        .wait_for(&h.api::<Namespace>(), name, "namespace settled", |ns| {
            ns.finalizers()
                .iter()
                .any(|f| f == "finalizers.kubesphere.io/namespaces")
                && ns
                    .labels()
                    .get("kubesphere.io/namespace")
                    .map(String::as_str)
                    == Some(name)
                && controlled_by(ns, "Workspace", &ws_uid)
        })
        .await;
    for role in ["admin", "operator", "viewer"] {
        h.wait_for(&h.api_in::<Role>(name), role, "default role", |r| {
            r.rules.as_ref().is_some_and(|rules| !rules.is_empty())
        })
        .await;
    }
    let binding = h
        .wait_for(
            &h.api_in::<RoleBinding>(name),
            &format!("{creator}-admin"),
            "creator binding",
            |_| true,
        )
        .await;
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(binding.role_ref.name, "admin");
    assert_eq!(binding.labels()["iam.kubesphere.io/user-ref"], creator);
    ns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_and_its_namespace_are_built_as_kubesphere_builds_them() {
    let h = Harness::start(TENANT).await;
    user(&h, "alice").await;
    template(&h, "ws1", "alice", &[]).await;
    let (_, workspace) = wait_workspace(&h, "ws1", "alice").await;
    namespace(&h, "dev", "ws1", "alice").await;
    wait_namespace(&h, "dev", &workspace, "alice").await;

    // What the controllers did is in the events.
    let events: Api<Event> = Api::namespaced(h.client.clone(), "default");
    h.eventually("a Synced event for ws1", || async {
        let list = events
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("Synced")
                    && e.regarding.as_ref().and_then(|r| r.kind.as_deref())
                        == Some("WorkspaceTemplate")
            })
            .then_some(())
            .ok_or_else(|| format!("{} events", list.items.len()))
    })
    .await;

    // A deleted role and a namespace role are put back.
    h.api::<WorkspaceRole>()
        .delete("ws1-viewer", &DeleteParams::default())
        .await
        .unwrap();
    h.api_in::<Role>("dev")
        .delete("operator", &DeleteParams::default())
        .await
        .unwrap();
    wait_workspace(&h, "ws1", "alice").await;
    h.wait_for(&h.api_in::<Role>("dev"), "operator", "recreated", |_| true)
        .await;

    h.assert_resync_writes_nothing().await;
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

/// The roles and the manager binding are created already controlled by
/// their template: no controller writes them a second time to add the
/// owner (two writes racing each other on `<ws>-admin` when the template
/// controller updated it meanwhile).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspaces_roles_and_manager_binding_are_written_once() {
    let h = Harness::start(TENANT).await;
    user(&h, "carol").await;
    let names: Vec<String> = (0..5).map(|i| format!("once{i}")).collect();
    for ws in &names {
        template(&h, ws, "carol", &[]).await;
    }
    for ws in &names {
        wait_workspace(&h, ws, "carol").await;
    }
    h.quiet().await;
    for ws in &names {
        let mut keys: Vec<String> = ["admin", "regular", "viewer", "self-provisioner"]
            .iter()
            .map(|base| format!("/iam.kubesphere.io/workspaceroles/{ws}-{base}"))
            .collect();
        keys.push(format!(
            "/iam.kubesphere.io/workspacerolebindings/{ws}-admin"
        ));
        for key in keys {
            let kv = h.store().get(&key).await.unwrap().expect(&key);
            assert_eq!(
                kv.mod_revision, kv.create_revision,
                "{key} was written again after its creation"
            );
        }
    }
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_created_later_is_bound_then() {
    let h = Harness::start(TENANT).await;
    template(&h, "ws2", "bob", &[]).await;
    h.wait_for(&h.api::<Workspace>(), "ws2", "workspace", |_| true)
        .await;
    assert!(
        h.api::<WorkspaceRoleBinding>()
            .get_opt("ws2-admin")
            .await
            .unwrap()
            .is_none(),
        "no binding for a user that does not exist"
    );
    user(&h, "bob").await;
    wait_workspace(&h, "ws2", "bob").await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_template_deletes_its_workspace_namespaces_roles_and_bindings() {
    let h = Harness::start(TENANT).await;
    user(&h, "carol").await;
    template(&h, "ws3", "carol", &[]).await;
    let (_, workspace) = wait_workspace(&h, "ws3", "carol").await;
    namespace(&h, "ws3-app", "ws3", "carol").await;
    wait_namespace(&h, "ws3-app", &workspace, "carol").await;

    h.api::<WorkspaceTemplate>()
        .delete("ws3", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&h.api::<WorkspaceTemplate>(), "ws3").await;
    h.wait_gone(&h.api::<Workspace>(), "ws3").await;
    h.wait_gone(&h.api::<Namespace>(), "ws3-app").await;
    for role in [
        "ws3-admin",
        "ws3-regular",
        "ws3-viewer",
        "ws3-self-provisioner",
    ] {
        h.wait_gone(&h.api::<WorkspaceRole>(), role).await;
    }
    h.wait_gone(&h.api::<WorkspaceRoleBinding>(), "ws3-admin")
        .await;
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphaning_template_leaves_its_namespaces_outside_any_workspace() {
    let h = Harness::start(TENANT).await;
    user(&h, "dave").await;
    template(&h, "ws4", "dave", &["orphan.finalizers.kubesphere.io"]).await;
    let (_, workspace) = wait_workspace(&h, "ws4", "dave").await;
    namespace(&h, "keep", "ws4", "dave").await;
    wait_namespace(&h, "keep", &workspace, "dave").await;

    h.api::<WorkspaceTemplate>()
        .delete("ws4", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&h.api::<WorkspaceTemplate>(), "ws4").await;
    h.wait_gone(&h.api::<Workspace>(), "ws4").await;
    let ns = h
        .wait_for(&h.api::<Namespace>(), "keep", "released", |ns| {
            !ns.labels().contains_key("kubesphere.io/workspace")
                && !ns.owner_references().iter().any(|r| r.kind == "Workspace")
        })
        .await;
    assert!(ns.meta().deletion_timestamp.is_none());
    h.assert_resync_writes_nothing().await;
    assert!(
        h.api::<Namespace>()
            .get_opt("keep")
            .await
            .unwrap()
            .is_some()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_follows_its_workspace_label() {
    let h = Harness::start(TENANT).await;
    user(&h, "erin").await;
    template(&h, "ws5", "erin", &[]).await;
    template(&h, "ws6", "erin", &[]).await;
    let (_, ws5) = wait_workspace(&h, "ws5", "erin").await;
    let (_, ws6) = wait_workspace(&h, "ws6", "erin").await;
    namespace(&h, "moving", "ws5", "erin").await;
    wait_namespace(&h, "moving", &ws5, "erin").await;

    // Moved to another workspace: the owner follows.
    let namespaces: Api<Namespace> = h.api();
    let relabel = |ws: serde_json::Value| {
        Patch::Merge(json!({"metadata": {"labels": {"kubesphere.io/workspace": ws}}}))
    };
    namespaces
        .patch("moving", &PatchParams::default(), &relabel(json!("ws6")))
        .await
        .unwrap();
    let ws6_uid = ws6.uid().unwrap();
    let ns = h
        .wait_for(&namespaces, "moving", "owned by ws6", |ns| {
            controlled_by(ns, "Workspace", &ws6_uid)
        })
        .await;
    assert_eq!(
        ns.owner_references()
            .iter()
            .filter(|r| r.kind == "Workspace")
            .count(),
        1
    );

    // Out of any workspace: no owner, and deleting ws6 leaves it.
    namespaces
        .patch(
            "moving",
            &PatchParams::default(),
            &relabel(serde_json::Value::Null),
        )
        .await
        .unwrap();
    h.wait_for(&namespaces, "moving", "unowned", |ns| {
        !ns.owner_references().iter().any(|r| r.kind == "Workspace")
    })
    .await;
    h.api::<WorkspaceTemplate>()
        .delete("ws6", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&h.api::<Workspace>(), "ws6").await;
    h.assert_resync_writes_nothing().await;
    assert!(namespaces.get_opt("moving").await.unwrap().is_some());
    assert_eq!(h.errors(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_without_a_workspace_gets_label_and_finalizer_only() {
    let h = Harness::start(TENANT).await;
    user(&h, "frank").await;
    let ns: Namespace = h
        .create(json!({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": "plain", "annotations": {"kubesphere.io/creator": "frank"}}}))
        .await;
    h.wait_for(
        &h.api::<Namespace>(),
        "plain",
        "label and finalizer",
        |ns| {
            ns.labels()
                .get("kubesphere.io/namespace")
                .map(String::as_str)
                == Some("plain")
                && ns
                    .finalizers()
                    .iter()
                    .any(|f| f == "finalizers.kubesphere.io/namespaces")
        },
    )
    .await;
    // The creator is bound even outside a workspace; no default roles.
    h.wait_for(
        &h.api_in::<RoleBinding>("plain"),
        "frank-admin",
        "creator binding",
        |_| true,
    )
    .await;
    h.assert_resync_writes_nothing().await;
    assert!(
        h.api_in::<Role>("plain")
            .get_opt("admin")
            .await
            .unwrap()
            .is_none()
    );

    // Deleting it removes our finalizer, so it goes.
    h.api::<Namespace>()
        .delete(&ns.name_any(), &DeleteParams::default())
        .await
        .unwrap();
    h.wait_gone(&h.api::<Namespace>(), "plain").await;
    h.stop().await;
}
