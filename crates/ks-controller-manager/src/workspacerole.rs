//! The `workspacerole` and `workspacerolebinding` controllers: workspace
//! roles and bindings are owned by their WorkspaceTemplate, so they go with
//! it.
//!
//! KubeSphere v3.4 semantics
//! (`pkg/controller/workspacerole/workspacerole_controller.go`,
//! `pkg/controller/workspacerolebinding/workspacerolebinding_controller.go`):
//! an object labelled `kubesphere.io/workspace=<ws>` (not propagated by
//! kubefed) gets a controller ownerReference to the WorkspaceTemplate
//! `<ws>`, replacing references to other workspaces; without the label, or
//! while the template does not exist, it is left alone.
//!
//! Deliberate differences: the Synced Event only when something was
//! written; an object controlled by something else is not taken over
//! (KubeSphere fails and retries forever); the multi-cluster
//! FederatedWorkspaceRole(Binding) copies are not made (the seam is
//! `WorkspaceOwned::reconcile`).

use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use ks_types::iam::{WorkspaceRole, WorkspaceRoleBinding};
use ks_types::meta::{KUBEFED_MANAGED_LABEL, WORKSPACE_LABEL};
use ks_types::tenant::WorkspaceTemplate;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::runtime::{
    Controlled, Reconciler, cached, controller_ref, is_not_found, normal_event, ready, recorder,
    set_controller,
};
use crate::{Error, Start};

/// The `workspacerole` controller's name in `--controllers`.
pub const WORKSPACE_ROLE: &str = "workspacerole";
/// The `workspacerolebinding` controller's name in `--controllers`.
pub const WORKSPACE_ROLE_BINDING: &str = "workspacerolebinding";

/// A cluster-scoped kind that belongs to a workspace by label.
pub(crate) trait WorkspaceScoped:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug + Send + Sync + 'static
{
    /// The controller's name.
    const CONTROLLER: &'static str;
    /// The reporting controller of its Events (KubeSphere's name).
    const REPORTER: &'static str;
    /// The kind, for errors.
    const KIND: &'static str;
}

impl WorkspaceScoped for WorkspaceRole {
    const CONTROLLER: &'static str = WORKSPACE_ROLE;
    const REPORTER: &'static str = "workspacerole-controller";
    const KIND: &'static str = "WorkspaceRole";
}

impl WorkspaceScoped for WorkspaceRoleBinding {
    const CONTROLLER: &'static str = WORKSPACE_ROLE_BINDING;
    const REPORTER: &'static str = "workspacerolebinding-controller";
    const KIND: &'static str = "WorkspaceRoleBinding";
}

struct WorkspaceOwned<K: WorkspaceScoped> {
    api: Api<K>,
    templates: Store<WorkspaceTemplate>,
    recorder: Recorder,
    kind: PhantomData<K>,
}

/// Starts the controller of `K`.
pub(crate) fn start<K: WorkspaceScoped>(start: Start) -> BoxFuture<'static, ()> {
    let client = &start.client;
    let api: Api<K> = Api::all(client.clone());
    let controller = Controller::new(api.clone(), watcher::Config::default());
    let by_workspace = controller.store();
    let (templates, template_changes) = cached(
        Api::<WorkspaceTemplate>::all(client.clone()),
        watcher::Config::default(),
    );
    // A template created after its roles and bindings adopts them then.
    let controller = controller.watches_stream(template_changes, move |template| {
        let ws = template.name_any();
        by_workspace
            .state_filter(|obj| obj.labels().get(WORKSPACE_LABEL) == Some(&ws))
            .iter()
            .map(|obj| ObjectRef::from_obj(&**obj))
            .collect::<Vec<_>>()
    });
    let reconciler = WorkspaceOwned {
        api,
        templates,
        recorder: recorder(client, K::REPORTER),
        kind: PhantomData,
    };
    start.drive(controller, reconciler)
}

/// Whether an ownerReference points to a workspace (its template or the
/// Workspace itself).
fn is_tenant_ref(r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference) -> bool {
    (r.kind == "WorkspaceTemplate" || r.kind == "Workspace")
        && r.api_version.starts_with("tenant.kubesphere.io/")
}

impl<K: WorkspaceScoped> Reconciler for WorkspaceOwned<K> {
    type Object = K;
    const NAME: &'static str = K::CONTROLLER;

    async fn reconcile(&self, obj: Arc<K>) -> Result<Action, Error> {
        if obj.labels().get(KUBEFED_MANAGED_LABEL).map(String::as_str) == Some("true")
            || obj.meta().deletion_timestamp.is_some()
        {
            return Ok(Action::await_change());
        }
        let Some(ws) = obj
            .labels()
            .get(WORKSPACE_LABEL)
            .filter(|ws| !ws.is_empty())
        else {
            return Ok(Action::await_change());
        };
        ready(&self.templates).await?;
        let Some(template) = self.templates.get(&ObjectRef::new(ws)) else {
            return Ok(Action::await_change());
        };
        let owner = controller_ref(&*template).ok_or_else(|| Error::Invalid {
            kind: "WorkspaceTemplate",
            name: ws.clone(),
            reason: "it has no uid",
        })?;
        let name = obj.name_any();
        match set_controller(obj.owner_references(), &owner, is_tenant_ref) {
            Controlled::Already => {}
            Controlled::Conflict(other) => {
                tracing::warn!(controller = K::CONTROLLER, object = %name, controller_ref = %other.name, "has another controller; not binding it to its workspace");
            }
            Controlled::Set(refs) => {
                let mut with = (*obj).clone();
                with.meta_mut().owner_references = Some(refs);
                match self.api.replace(&name, &PostParams::default(), &with).await {
                    Ok(written) => {
                        normal_event(
                            &self.recorder,
                            &written,
                            "Synced",
                            format!("{} synced successfully", K::KIND),
                        )
                        .await;
                    }
                    Err(err) if is_not_found(&err) => {}
                    Err(err) => return Err(Error::kube("set the owner of", K::KIND, name)(err)),
                }
            }
        }
        Ok(Action::await_change())
    }
}
