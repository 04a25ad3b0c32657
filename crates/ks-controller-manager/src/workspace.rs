//! The `workspace` controller: a Workspace owns the namespaces labelled
//! with its name.
//!
//! KubeSphere v3.4 semantics (`pkg/controller/workspace/workspace_controller.go`):
//!
//! - the finalizer [`FINALIZER`] is added to every Workspace and removed as
//!   soon as its deletion starts;
//! - every namespace labelled `kubesphere.io/workspace=<ws>` (and not
//!   propagated by kubefed) gets a controller ownerReference to the
//!   Workspace, replacing any reference to another Workspace, so that
//!   deleting the workspace deletes its namespaces through garbage
//!   collection.
//!
//! The `namespace` controller keeps the same reference from the namespace's
//! side ([`crate::namespace`]); either is enough, and both may run.
//!
//! Deliberate differences: the Synced Event only when something was
//! written; the `ks_workspace_operation` metric of KubeSphere is not kept.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use ks_types::meta::{KUBEFED_MANAGED_LABEL, WORKSPACE_FINALIZER, WORKSPACE_LABEL};
use ks_types::tenant::Workspace;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource as _, ResourceExt as _};

use crate::namespace::{is_workspace_ref, workspace_label};
use crate::runtime::{
    Controlled, Reconciler, cached, controller_ref, is_not_found, normal_event, ready, recorder,
    set_controller,
};
use crate::{Error, Start};

/// The controller's name in `--controllers`.
pub const NAME: &str = "workspace";
/// The finalizer on every Workspace while it lives.
pub const FINALIZER: &str = WORKSPACE_FINALIZER;
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "workspace-controller";

struct WorkspaceReconciler {
    workspaces: Api<Workspace>,
    namespaces: Api<Namespace>,
    namespace_cache: Store<Namespace>,
    recorder: Recorder,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let client = &start.client;
    let workspaces: Api<Workspace> = Api::all(client.clone());
    let (namespace_cache, namespace_changes) = cached(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default().labels(WORKSPACE_LABEL),
    );
    let controller = Controller::new(workspaces.clone(), watcher::Config::default())
        .watches_stream(namespace_changes, |ns| {
            workspace_label(&ns).map(ObjectRef::new)
        });
    let reconciler = WorkspaceReconciler {
        workspaces,
        namespaces: Api::all(client.clone()),
        namespace_cache,
        recorder: recorder(client, REPORTER),
    };
    start.drive(controller, reconciler)
}

impl Reconciler for WorkspaceReconciler {
    type Object = Workspace;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, workspace: Arc<Workspace>) -> Result<Action, Error> {
        let name = workspace.name_any();
        let has_finalizer = workspace.finalizers().iter().any(|f| f == FINALIZER);
        if workspace.meta().deletion_timestamp.is_some() {
            if has_finalizer {
                let mut without = (*workspace).clone();
                without.finalizers_mut().retain(|f| f != FINALIZER);
                match self
                    .workspaces
                    .replace(&name, &PostParams::default(), &without)
                    .await
                {
                    Ok(_) => {}
                    Err(err) if is_not_found(&err) => {}
                    Err(err) => {
                        return Err(Error::kube("remove the finalizer of", "Workspace", &name)(
                            err,
                        ));
                    }
                }
            }
            return Ok(Action::await_change());
        }
        let mut wrote = false;
        let workspace = if has_finalizer {
            workspace
        } else {
            let mut with = (*workspace).clone();
            with.finalizers_mut().push(FINALIZER.to_owned());
            wrote = true;
            Arc::new(
                self.workspaces
                    .replace(&name, &PostParams::default(), &with)
                    .await
                    .map_err(Error::kube("add the finalizer to", "Workspace", &name))?,
            )
        };
        let owner = controller_ref(&*workspace).ok_or_else(|| Error::Invalid {
            kind: "Workspace",
            name: name.clone(),
            reason: "it has no uid",
        })?;
        ready(&self.namespace_cache).await?;
        let members = self.namespace_cache.state_filter(|ns| {
            workspace_label(ns) == Some(name.as_str())
                && ns.labels().get(KUBEFED_MANAGED_LABEL).map(String::as_str) != Some("true")
                && ns.meta().deletion_timestamp.is_none()
        });
        for ns in members {
            let ns_name = ns.name_any();
            match set_controller(ns.owner_references(), &owner, is_workspace_ref) {
                Controlled::Already => {}
                Controlled::Conflict(other) => {
                    tracing::warn!(controller = NAME, namespace = %ns_name, controller_ref = %other.name, "namespace has another controller; not adopting it");
                }
                Controlled::Set(refs) => {
                    let mut ns = (*ns).clone();
                    ns.metadata.owner_references = Some(refs);
                    match self
                        .namespaces
                        .replace(&ns_name, &PostParams::default(), &ns)
                        .await
                    {
                        Ok(_) => wrote = true,
                        Err(err) if is_not_found(&err) => {}
                        Err(err) => {
                            return Err(Error::kube("set the owner of", "Namespace", &ns_name)(
                                err,
                            ));
                        }
                    }
                }
            }
        }
        if wrote {
            normal_event(
                &self.recorder,
                &*workspace,
                "Synced",
                "Workspace synced successfully".to_owned(),
            )
            .await;
        }
        Ok(Action::await_change())
    }
}
