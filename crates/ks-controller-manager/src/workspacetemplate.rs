//! The `workspacetemplate` controller: a WorkspaceTemplate makes its
//! Workspace, its workspace roles and its manager's binding.
//!
//! KubeSphere v3.4 semantics
//! (`pkg/controller/workspacetemplate/workspacetemplate_controller.go`,
//! single cluster):
//!
//! - the finalizer [`FINALIZER`] is added to every template;
//! - the Workspace (`tenant.kubesphere.io/v1alpha1`) of the same name gets
//!   the template's `spec.template` labels and spec, and is kept equal to
//!   them;
//! - the workspace roles `<ws>-admin`, `<ws>-regular`, `<ws>-viewer` and
//!   `<ws>-self-provisioner` are created from ks-types' role bases, labelled
//!   `kubesphere.io/workspace=<ws>`, and their rules kept as built;
//! - when `spec.template.spec.manager` names a user that exists and is not
//!   being deleted, the WorkspaceRoleBinding `<ws>-admin` binds that user
//!   to `<ws>-admin`, labelled `kubesphere.io/workspace` and
//!   `iam.kubesphere.io/user-ref`;
//! - on deletion the Workspace is deleted with Foreground propagation (its
//!   namespaces, which it owns, go first), or, when the template carries
//!   [`ORPHAN_FINALIZER`], with Orphan propagation after its namespaces
//!   lose the workspace label (they stay, outside any workspace); then both
//!   finalizers are removed.
//!
//! Deliberate differences from KubeSphere:
//!
//! - labels and annotations that someone added to a workspace role are
//!   kept (KubeSphere replaces them with the base's); only ours are
//!   enforced;
//! - the Synced Event is recorded only when something was written;
//! - the roles and the manager's binding are created with the template as
//!   their controller (KubeSphere leaves that to the workspacerole and
//!   workspacerolebinding controllers, a second write each, the binding's
//!   racing this controller's updates of it);
//! - an orphaned namespace loses its workspace label here, explicitly
//!   (KubeSphere leaves it to a race in its namespace controller);
//! - Helm releases, repositories and applications of the workspace
//!   (OpenPitrix) and the multi-cluster FederatedWorkspace are not handled:
//!   ks-rs serves neither yet. The multi-cluster seam is
//!   `WorkspaceTemplateReconciler::sync_workspace`.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use ks_types::iam::{User, WorkspaceRole, WorkspaceRoleBinding};
use ks_types::meta::{USER_REFERENCE_LABEL, WORKSPACE_LABEL};
use ks_types::tenant::{Workspace, WorkspaceTemplate};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource as _, ResourceExt as _};

use crate::namespace::user_is_live;
use crate::runtime::{
    Reconciler, cached, controller_ref, get_opt, is_conflict, is_not_found, normal_event, recorder,
    sync_builtin_roles,
};
use crate::{Error, Start};

/// The controller's name in `--controllers`.
pub const NAME: &str = "workspacetemplate";
/// The finalizer kept on templates until their workspace is deleted.
pub const FINALIZER: &str = "finalizers.workspacetemplate.kubesphere.io";
/// A template carrying this finalizer leaves its namespaces behind when
/// deleted.
pub const ORPHAN_FINALIZER: &str = "orphan.finalizers.kubesphere.io";
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "workspacetemplate-controller";

struct WorkspaceTemplateReconciler {
    templates: Api<WorkspaceTemplate>,
    workspaces: Api<Workspace>,
    roles: Api<WorkspaceRole>,
    bindings: Api<WorkspaceRoleBinding>,
    users: Api<User>,
    namespaces: Api<Namespace>,
    role_cache: Store<WorkspaceRole>,
    recorder: Recorder,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let client = &start.client;
    let templates: Api<WorkspaceTemplate> = Api::all(client.clone());
    let controller = Controller::new(templates.clone(), watcher::Config::default());
    let by_manager = controller.store();
    let (role_cache, role_changes) = cached(
        Api::<WorkspaceRole>::all(client.clone()),
        watcher::Config::default().labels(WORKSPACE_LABEL),
    );
    let controller = controller
        // A deleted or edited Workspace is put back.
        .watches(
            Api::<Workspace>::all(client.clone()),
            watcher::Config::default(),
            |ws| Some(ObjectRef::new(&ws.name_any())),
        )
        // So are the workspace's roles and its manager's binding.
        .watches_stream(role_changes, |role| workspace_of(&role))
        .watches(
            Api::<WorkspaceRoleBinding>::all(client.clone()),
            watcher::Config::default().labels(WORKSPACE_LABEL),
            |binding| {
                workspace_of(&binding).filter(|ws| binding.name_any() == admin_role_name(&ws.name))
            },
        )
        // A manager created after its workspace gets the binding then.
        .watches(
            Api::<User>::all(client.clone()),
            watcher::Config::default(),
            move |user| {
                let name = user.name_any();
                by_manager
                    .state()
                    .iter()
                    .filter(|t| t.spec.template.spec.manager == name)
                    .map(|t| ObjectRef::from_obj(&**t))
                    .collect::<Vec<_>>()
            },
        );
    let reconciler = WorkspaceTemplateReconciler {
        templates,
        workspaces: Api::all(client.clone()),
        roles: Api::all(client.clone()),
        bindings: Api::all(client.clone()),
        users: Api::all(client.clone()),
        namespaces: Api::all(client.clone()),
        role_cache,
        recorder: recorder(client, REPORTER),
    };
    start.drive(controller, reconciler)
}

/// The template a workspace-labelled object belongs to.
fn workspace_of<K: kube::Resource>(obj: &K) -> Option<ObjectRef<WorkspaceTemplate>> {
    obj.meta()
        .labels
        .as_ref()?
        .get(WORKSPACE_LABEL)
        .filter(|ws| !ws.is_empty())
        .map(|ws| ObjectRef::new(ws))
}

/// `<ws>-admin`: the workspace's admin role, and its manager's binding.
fn admin_role_name(workspace: &str) -> String {
    ks_types::builtin::workspace_role_name(workspace, "admin")
}

impl Reconciler for WorkspaceTemplateReconciler {
    type Object = WorkspaceTemplate;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, template: Arc<WorkspaceTemplate>) -> Result<Action, Error> {
        let name = template.name_any();
        if template.meta().deletion_timestamp.is_some() {
            self.delete(&template).await?;
            return Ok(Action::await_change());
        }
        let mut wrote = false;
        let template = if template.finalizers().iter().any(|f| f == FINALIZER) {
            template
        } else {
            let mut with = (*template).clone();
            with.finalizers_mut().push(FINALIZER.to_owned());
            wrote = true;
            Arc::new(
                self.templates
                    .replace(&name, &PostParams::default(), &with)
                    .await
                    .map_err(Error::kube(
                        "add the finalizer to",
                        "WorkspaceTemplate",
                        &name,
                    ))?,
            )
        };
        wrote |= self.sync_workspace(&template).await?;
        // The roles and the binding are created with the template as their
        // controller, which the workspacerole and workspacerolebinding
        // controllers would otherwise add in a second write each (racing
        // this controller's own updates of the binding).
        let owner = controller_ref(&*template);
        wrote |= self.sync_roles(&name, owner.as_ref()).await?;
        wrote |= self.sync_manager_binding(&template, owner.as_ref()).await?;
        if wrote {
            normal_event(
                &self.recorder,
                &*template,
                "Synced",
                "WorkspaceTemplate synced successfully".to_owned(),
            )
            .await;
        }
        Ok(Action::await_change())
    }
}

impl WorkspaceTemplateReconciler {
    /// Creates or updates the Workspace from `spec.template`; whether it
    /// wrote. (With multi-cluster, a FederatedWorkspace would be synced here
    /// instead.)
    async fn sync_workspace(&self, template: &WorkspaceTemplate) -> Result<bool, Error> {
        let name = template.name_any();
        let want_labels = non_empty(template.spec.template.metadata.labels.clone());
        let want_spec = &template.spec.template.spec;
        match get_opt(&self.workspaces, &name, "Workspace").await? {
            None => {
                let mut ws = Workspace::default();
                ws.metadata.name = Some(name.clone());
                ws.metadata.labels = want_labels;
                ws.spec = want_spec.clone();
                match self.workspaces.create(&PostParams::default(), &ws).await {
                    Ok(_) => Ok(true),
                    // Created meanwhile: the next reconcile compares it.
                    Err(err) if is_conflict(&err) => Ok(false),
                    Err(err) => Err(Error::kube("create", "Workspace", &name)(err)),
                }
            }
            // Being deleted (the template was deleted and recreated): wait
            // for it to go, then create it again.
            Some(ws) if ws.meta().deletion_timestamp.is_some() => Ok(false),
            Some(mut ws) => {
                if ws.spec == *want_spec && non_empty(ws.metadata.labels.clone()) == want_labels {
                    return Ok(false);
                }
                ws.spec = want_spec.clone();
                ws.metadata.labels = want_labels;
                self.workspaces
                    .replace(&name, &PostParams::default(), &ws)
                    .await
                    .map_err(Error::kube("update", "Workspace", &name))?;
                Ok(true)
            }
        }
    }

    /// Creates the workspace's roles (controlled by `owner`) or puts back
    /// what they must hold; whether it wrote.
    async fn sync_roles(
        &self,
        workspace: &str,
        owner: Option<&OwnerReference>,
    ) -> Result<bool, Error> {
        let wants = ks_types::builtin::workspace_roles(workspace);
        sync_builtin_roles(&self.roles, &self.role_cache, wants, owner).await
    }

    /// Binds the manager to `<ws>-admin` (a new binding controlled by
    /// `owner`); whether it wrote.
    async fn sync_manager_binding(
        &self,
        template: &WorkspaceTemplate,
        owner: Option<&OwnerReference>,
    ) -> Result<bool, Error> {
        let workspace = template.name_any();
        let manager = &template.spec.template.spec.manager;
        if manager.is_empty() {
            return Ok(false);
        }
        if !user_is_live(&self.users, manager).await? {
            return Ok(false);
        }
        let name = admin_role_name(&workspace);
        let mut want = manager_binding(&workspace, manager);
        match get_opt(&self.bindings, &name, "WorkspaceRoleBinding").await? {
            None => {
                want.metadata.owner_references = owner.map(|o| vec![o.clone()]);
                match self.bindings.create(&PostParams::default(), &want).await {
                    Ok(_) => {}
                    Err(err) if is_conflict(&err) => return Ok(false),
                    Err(err) => {
                        return Err(Error::kube("create", "WorkspaceRoleBinding", &name)(err));
                    }
                }
            }
            Some(have) if have.meta().deletion_timestamp.is_some() => return Ok(false),
            Some(mut have) => {
                if have.role_ref == want.role_ref
                    && have.subjects == want.subjects
                    && have.metadata.labels == want.metadata.labels
                {
                    return Ok(false);
                }
                have.role_ref = want.role_ref;
                have.subjects = want.subjects;
                have.metadata.labels = want.metadata.labels;
                self.bindings
                    .replace(&name, &PostParams::default(), &have)
                    .await
                    .map_err(Error::kube("update", "WorkspaceRoleBinding", &name))?;
            }
        }
        // The manager may have been deleted, and its bindings cleaned up,
        // since we looked: then this binding would outlive it.
        if !user_is_live(&self.users, manager).await? {
            match self.bindings.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(err) if is_not_found(&err) => {}
                Err(err) => return Err(Error::kube("delete", "WorkspaceRoleBinding", &name)(err)),
            }
        }
        Ok(true)
    }

    /// Deletes the template's Workspace (Foreground, or Orphan after
    /// releasing its namespaces), then removes the finalizers.
    async fn delete(&self, template: &WorkspaceTemplate) -> Result<(), Error> {
        let ours = |f: &String| f == FINALIZER || f == ORPHAN_FINALIZER;
        if !template.finalizers().iter().any(ours) {
            return Ok(());
        }
        let name = template.name_any();
        let orphan = template.finalizers().iter().any(|f| f == ORPHAN_FINALIZER);
        if orphan {
            self.release_namespaces(&name).await?;
        }
        let params = DeleteParams {
            propagation_policy: Some(if orphan {
                PropagationPolicy::Orphan
            } else {
                PropagationPolicy::Foreground
            }),
            ..DeleteParams::default()
        };
        match self.workspaces.delete(&name, &params).await {
            Ok(_) => {}
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(Error::kube("delete", "Workspace", &name)(err)),
        }
        let mut without = template.clone();
        without.finalizers_mut().retain(|f| !ours(f));
        self.templates
            .replace(&name, &PostParams::default(), &without)
            .await
            .map_err(Error::kube(
                "remove the finalizers of",
                "WorkspaceTemplate",
                &name,
            ))?;
        Ok(())
    }

    /// Takes the namespaces of `workspace` out of it: no workspace label,
    /// no reference to the Workspace.
    async fn release_namespaces(&self, workspace: &str) -> Result<(), Error> {
        let selector = format!("{WORKSPACE_LABEL}={workspace}");
        let list = self
            .namespaces
            .list(&kube::api::ListParams::default().labels(&selector))
            .await
            .map_err(Error::kube("list", "Namespace", &selector))?;
        for mut ns in list.items {
            let name = ns.name_any();
            ns.labels_mut().remove(WORKSPACE_LABEL);
            ns.owner_references_mut()
                .retain(|r| !crate::namespace::is_workspace_ref(r));
            match self
                .namespaces
                .replace(&name, &PostParams::default(), &ns)
                .await
            {
                Ok(_) => {}
                Err(err) if is_not_found(&err) => {}
                Err(err) => return Err(Error::kube("release", "Namespace", &name)(err)),
            }
        }
        Ok(())
    }
}

/// The manager's binding to `<ws>-admin`.
fn manager_binding(workspace: &str, manager: &str) -> WorkspaceRoleBinding {
    let name = admin_role_name(workspace);
    let mut binding = WorkspaceRoleBinding::default();
    binding.metadata.name = Some(name.clone());
    binding.metadata.labels = Some(BTreeMap::from([
        (WORKSPACE_LABEL.to_owned(), workspace.to_owned()),
        (USER_REFERENCE_LABEL.to_owned(), manager.to_owned()),
    ]));
    binding.role_ref = RoleRef {
        api_group: "iam.kubesphere.io".to_owned(),
        kind: "WorkspaceRole".to_owned(),
        name,
    };
    binding.subjects = vec![Subject {
        api_group: Some("rbac.authorization.k8s.io".to_owned()),
        kind: "User".to_owned(),
        name: manager.to_owned(),
        namespace: None,
    }];
    binding
}

/// `None` for an empty map, as Go's nil and empty maps are alike here.
fn non_empty(map: Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
    map.filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manager_binding_is_kubesphere_s() {
        let b = manager_binding("ws", "alice");
        assert_eq!(b.metadata.name.as_deref(), Some("ws-admin"));
        let labels = b.metadata.labels.unwrap();
        assert_eq!(labels[WORKSPACE_LABEL], "ws");
        assert_eq!(labels[USER_REFERENCE_LABEL], "alice");
        assert_eq!(b.role_ref.kind, "WorkspaceRole");
        assert_eq!(b.role_ref.name, "ws-admin");
        assert_eq!(b.subjects.len(), 1);
        assert_eq!(b.subjects[0].name, "alice");
    }

    #[test]
    fn empty_labels_are_no_labels() {
        assert_eq!(non_empty(Some(BTreeMap::new())), None);
        let one = Some(BTreeMap::from([("a".to_owned(), "b".to_owned())]));
        assert_eq!(non_empty(one.clone()), one);
    }
}
