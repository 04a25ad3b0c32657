//! The `group` controller: ties groups to their parent group or workspace,
//! and cleans up after deleted groups.
//!
//! KubeSphere v3.4 semantics (`pkg/controller/group/group_controller.go`):
//!
//! - the finalizer [`FINALIZER`] is added to every group;
//! - a group labelled `iam.kubesphere.io/group-parent: <parent>` gets a
//!   controller ownerReference to that Group; if the parent does not
//!   exist, the label is removed instead (the group becomes a top-level
//!   group of its workspace);
//! - otherwise a group labelled `kubesphere.io/workspace: <ws>` gets a
//!   controller ownerReference to the WorkspaceTemplate `<ws>`, replacing
//!   any other workspace reference; a missing workspace leaves it alone;
//! - groups propagated by kubefed (`kubefed.io/managed: "true"`) are left
//!   alone;
//! - on deletion, the GroupBindings, WorkspaceRoleBindings,
//!   ClusterRoleBindings and RoleBindings (all namespaces) labelled
//!   `iam.kubesphere.io/group-ref: <group>` are deleted before the
//!   finalizer goes. Deleting the GroupBindings makes the `groupbinding`
//!   controller take the group out of its users' `spec.groups`; the
//!   group's child groups go with it through the garbage collector.
//!
//! Role bindings are found by that label, not by their subjects: the APIs
//! that create a group's role bindings (ks-apiserver's, as KubeSphere's)
//! label them, and a binding someone else made for the group is theirs.
//!
//! Deliberate differences from KubeSphere:
//!
//! - the group's ownership is written with a merge patch of the metadata
//!   it changes (carrying the resourceVersion read), not an update of the
//!   whole group;
//! - a group that gains a parent loses its workspace reference, and one
//!   that gets a new owner loses the old one (KubeSphere fails forever on a
//!   group whose controller is another group or workspace, and a child
//!   group still owned by its workspace would survive its parent);
//! - a WorkspaceTemplate that appears reconciles the groups labelled with
//!   its name (KubeSphere waits for the next change of the group);
//! - the `Synced` Event is recorded only when the reconcile wrote something
//!   (KubeSphere records it on every reconcile);
//! - every error is retried with exponential backoff.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use ks_types::WorkspaceTemplate;
use ks_types::iam::{Group, GroupBinding, WorkspaceRoleBinding};
use ks_types::meta::{
    GROUP_PARENT_LABEL, GROUP_REFERENCE_LABEL, KUBEFED_MANAGED_LABEL, WORKSPACE_LABEL,
};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::json;

use crate::runtime::{
    LABEL_VALUE_MAX_LENGTH, Reconciler, cluster, controller_ref, delete_labelled, get_opt,
    labelled, namespaced, normal_event, recorder,
};
use crate::{Error, Start};

/// The controller's name in `--controllers`.
pub const NAME: &str = "group";
/// The finalizer the controller keeps on groups until they are cleaned up.
pub const FINALIZER: &str = ks_types::meta::GROUP_FINALIZER;
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "group-controller";

struct GroupReconciler {
    client: Client,
    groups: Api<Group>,
    workspaces: Api<WorkspaceTemplate>,
    recorder: Recorder,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let groups: Api<Group> = Api::all(start.client.clone());
    let workspaces: Api<WorkspaceTemplate> = Api::all(start.client.clone());
    let controller = Controller::new(groups.clone(), watcher::Config::default());
    let store = controller.store();
    let controller =
        controller.watches(workspaces.clone(), watcher::Config::default(), move |ws| {
            labelled(&store, WORKSPACE_LABEL, &ws.name_any())
                .iter()
                .map(|g| ObjectRef::from_obj(&**g))
                .collect::<Vec<_>>()
        });
    let reconciler = GroupReconciler {
        recorder: recorder(&start.client, REPORTER),
        client: start.client.clone(),
        groups,
        workspaces,
    };
    start.drive(controller, reconciler)
}

impl Reconciler for GroupReconciler {
    type Object = Group;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, group: Arc<Group>) -> Result<Action, Error> {
        finalizer(&self.groups, FINALIZER, group, |event| async {
            match event {
                FinalizerEvent::Apply(group) => self.apply(&group).await,
                FinalizerEvent::Cleanup(group) => self.cleanup(&group).await,
            }
        })
        .await
        .map_err(|err| Error::Finalizer(Box::new(err)))
    }
}

impl GroupReconciler {
    async fn apply(&self, group: &Group) -> Result<Action, Error> {
        // Multicluster seam: KubeSphere also labels the group
        // `kubefed.io/managed: "false"` and keeps a FederatedGroup of it
        // when multicluster is enabled; ks-rs has no kubefed.
        let Some(owner) = wanted_owner(group.labels()) else {
            return Ok(Action::await_change());
        };
        let refs = group.owner_references();
        if is_settled(refs, &owner) {
            return Ok(Action::await_change());
        }
        let mut metadata = match owner {
            Owner::Parent(parent) => {
                let found = if parent.is_empty() {
                    None
                } else {
                    get_opt(&self.groups, parent, "Group").await?
                };
                match found.as_ref().and_then(controller_ref) {
                    Some(r) => json!({"ownerReferences": owned_by(refs, r)}),
                    None => json!({"labels": {GROUP_PARENT_LABEL: null}}),
                }
            }
            Owner::Workspace(ws) => {
                let found = get_opt(&self.workspaces, ws, "WorkspaceTemplate").await?;
                match found.as_ref().and_then(controller_ref) {
                    Some(r) => json!({"ownerReferences": owned_by(refs, r)}),
                    // The workspace's appearance reconciles the group again.
                    None => return Ok(Action::await_change()),
                }
            }
        };
        metadata["resourceVersion"] = json!(group.resource_version());
        let name = group.name_any();
        self.groups
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"metadata": metadata})),
            )
            .await
            .map_err(Error::kube("update", "Group", &name))?;
        normal_event(
            &self.recorder,
            group,
            "Synced",
            "Group synced successfully".to_owned(),
        )
        .await;
        Ok(Action::await_change())
    }

    async fn cleanup(&self, group: &Group) -> Result<Action, Error> {
        let name = group.name_any();
        // No label can hold a longer name, so nothing can refer to the group.
        if name.len() > LABEL_VALUE_MAX_LENGTH {
            return Ok(Action::await_change());
        }
        let selector = format!("{GROUP_REFERENCE_LABEL}={name}");
        let c = &self.client;
        delete_labelled(c, &selector, "GroupBinding", cluster::<GroupBinding>(c)).await?;
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
        Ok(Action::await_change())
    }
}

/// Who should control a group.
#[derive(Debug, PartialEq, Eq)]
enum Owner<'a> {
    /// The Group it names as its parent.
    Parent(&'a str),
    /// The WorkspaceTemplate of its workspace.
    Workspace(&'a str),
}

impl Owner<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Owner::Parent(_) => "Group",
            Owner::Workspace(_) => "WorkspaceTemplate",
        }
    }

    fn name(&self) -> &str {
        match self {
            Owner::Parent(n) | Owner::Workspace(n) => n,
        }
    }
}

/// The owner a group's labels ask for; `None` for a group propagated by
/// kubefed or belonging to nothing.
fn wanted_owner(labels: &BTreeMap<String, String>) -> Option<Owner<'_>> {
    if labels.get(KUBEFED_MANAGED_LABEL).map(String::as_str) == Some("true") {
        return None;
    }
    if let Some(parent) = labels.get(GROUP_PARENT_LABEL) {
        return Some(Owner::Parent(parent));
    }
    labels
        .get(WORKSPACE_LABEL)
        .filter(|ws| !ws.is_empty())
        .map(|ws| Owner::Workspace(ws))
}

/// Owner references of the kinds this controller sets: groups, and
/// workspaces of either API version's kind.
fn is_ownership(r: &OwnerReference) -> bool {
    let group = r.api_version.split('/').next().unwrap_or("");
    match r.kind.as_str() {
        "Group" => group == "iam.kubesphere.io",
        "Workspace" | "WorkspaceTemplate" => group == "tenant.kubesphere.io",
        _ => false,
    }
}

/// Whether `owner` controls the group and no other group or workspace
/// owns it. Names are compared, not uids, as KubeSphere does: an owner
/// that was deleted takes the group with it through the garbage collector.
fn is_settled(refs: &[OwnerReference], owner: &Owner<'_>) -> bool {
    let mut ours = refs.iter().filter(|r| is_ownership(r));
    match (ours.next(), ours.next()) {
        (Some(r), None) => {
            r.kind == owner.kind() && r.name == owner.name() && r.controller == Some(true)
        }
        _ => false,
    }
}

/// `refs` with `owner` as the one group or workspace owner.
fn owned_by(refs: &[OwnerReference], owner: OwnerReference) -> Vec<OwnerReference> {
    refs.iter()
        .filter(|r| !is_ownership(r))
        .cloned()
        .chain(std::iter::once(owner))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn oref(api_version: &str, kind: &str, name: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            controller: Some(controller),
            block_owner_deletion: Some(true),
        }
    }

    const IAM: &str = "iam.kubesphere.io/v1alpha2";
    const TENANT: &str = "tenant.kubesphere.io/v1alpha2";

    #[test]
    fn wanted_owner_table() {
        // (labels, owner)
        type Case = (
            &'static [(&'static str, &'static str)],
            Option<Owner<'static>>,
        );
        let cases: &[Case] = &[
            (&[], None),
            (&[(WORKSPACE_LABEL, "ws")], Some(Owner::Workspace("ws"))),
            (&[(WORKSPACE_LABEL, "")], None),
            (
                &[(WORKSPACE_LABEL, "ws"), (GROUP_PARENT_LABEL, "devs")],
                Some(Owner::Parent("devs")),
            ),
            (&[(GROUP_PARENT_LABEL, "")], Some(Owner::Parent(""))),
            (
                &[(WORKSPACE_LABEL, "ws"), (KUBEFED_MANAGED_LABEL, "true")],
                None,
            ),
            (
                &[(WORKSPACE_LABEL, "ws"), (KUBEFED_MANAGED_LABEL, "false")],
                Some(Owner::Workspace("ws")),
            ),
        ];
        for (i, (pairs, want)) in cases.iter().enumerate() {
            assert_eq!(wanted_owner(&labels(pairs)), *want, "case {i}");
        }
    }

    #[test]
    fn settled_table() {
        let ws = Owner::Workspace("ws");
        let parent = Owner::Parent("devs");
        let other = oref("apps/v1", "Deployment", "x", false);
        let cases: &[(Vec<OwnerReference>, &Owner<'_>, bool)] = &[
            (vec![], &ws, false),
            (
                vec![oref(TENANT, "WorkspaceTemplate", "ws", true)],
                &ws,
                true,
            ),
            (
                vec![other.clone(), oref(TENANT, "WorkspaceTemplate", "ws", true)],
                &ws,
                true,
            ),
            // Not the controller, another workspace, or another kind.
            (
                vec![oref(TENANT, "WorkspaceTemplate", "ws", false)],
                &ws,
                false,
            ),
            (
                vec![oref(TENANT, "WorkspaceTemplate", "ws2", true)],
                &ws,
                false,
            ),
            (vec![oref(TENANT, "Workspace", "ws", true)], &ws, false),
            (vec![oref(IAM, "Group", "devs", true)], &parent, true),
            // A child still owned by its workspace too.
            (
                vec![
                    oref(IAM, "Group", "devs", true),
                    oref(TENANT, "WorkspaceTemplate", "ws", false),
                ],
                &parent,
                false,
            ),
            (vec![oref(IAM, "Group", "devs", true)], &ws, false),
        ];
        for (i, (refs, owner, want)) in cases.iter().enumerate() {
            assert_eq!(is_settled(refs, owner), *want, "case {i}");
        }
    }

    #[test]
    fn a_new_owner_replaces_the_old_ones_only() {
        let other = oref("apps/v1", "Deployment", "x", false);
        let refs = vec![
            oref(TENANT, "Workspace", "old", false),
            other.clone(),
            oref(TENANT, "WorkspaceTemplate", "old", true),
        ];
        let new = oref(IAM, "Group", "devs", true);
        assert_eq!(owned_by(&refs, new.clone()), vec![other, new.clone()]);
        assert!(is_settled(&owned_by(&refs, new), &Owner::Parent("devs")));
    }
}
