//! The `namespace` controller: a namespace's KubeSphere label and
//! finalizer, its creator's admin binding, its workspace owner and its
//! default roles.
//!
//! KubeSphere v3.4 semantics (`pkg/controller/namespace/namespace_controller.go`):
//!
//! - the first time the controller sees a namespace (it lacks the finalizer
//!   [`FINALIZER`]), and the annotation `kubesphere.io/creator` names an
//!   existing user (not being deleted), the RoleBinding `<creator>-admin` binds that user to the
//!   Role `admin` (label `iam.kubesphere.io/user-ref=<creator>`); then the
//!   finalizer and the label `kubesphere.io/namespace=<name>` are added;
//! - a namespace labelled `kubesphere.io/workspace=<ws>` (not propagated by
//!   kubefed) gets a controller ownerReference to that Workspace, replacing
//!   references to any other; without the label, references to Workspaces
//!   are removed;
//! - a namespace in a workspace gets the Roles `admin`, `operator` and
//!   `viewer` from ks-types' namespace roles, kept as built;
//! - on deletion the finalizer is removed.
//!
//! Deliberate differences from KubeSphere:
//!
//! - a Workspace that is being deleted, or is gone, does not make its
//!   namespaces drop the label and reference: garbage collection deletes
//!   them (Foreground or Background), as the `workspacetemplate`
//!   controller intends. KubeSphere unbinds them here, racing the garbage
//!   collector and sometimes leaving namespaces behind. A template deleted
//!   with the orphan finalizer releases its namespaces itself;
//! - the `kubesphere.io/namespace` label is kept in step, not only set once;
//! - labels and annotations someone added to a default role are kept;
//! - the Synced Event only when something was written;
//! - the DevOps project roles and the gateway of the namespace are not
//!   handled (ks-rs serves neither).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use ks_types::iam::User;
use ks_types::meta::{
    CREATOR_ANNOTATION, KUBEFED_MANAGED_LABEL, NAMESPACE_LABEL, USER_REFERENCE_LABEL,
    WORKSPACE_LABEL,
};
use ks_types::tenant::Workspace;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt as _};

use crate::runtime::{
    Controlled, Reconciler, cached, controller_ref, get_opt, is_conflict, is_namespace_terminating,
    is_not_found, normal_event, ready, recorder, set_controller, sync_builtin_roles,
};
use crate::{Error, Start};

/// The controller's name in `--controllers`.
pub const NAME: &str = "namespace";
/// The finalizer on every namespace while it lives.
pub const FINALIZER: &str = "finalizers.kubesphere.io/namespaces";
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "namespace-controller";
/// The namespace role a creator is bound to.
const ADMIN_ROLE: &str = "admin";

struct NamespaceReconciler {
    client: Client,
    namespaces: Api<Namespace>,
    users: Api<User>,
    workspace_cache: Store<Workspace>,
    role_cache: Store<Role>,
    recorder: Recorder,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let client = &start.client;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let controller = Controller::new(namespaces.clone(), watcher::Config::default());
    let by_workspace = controller.store();
    let (workspace_cache, workspace_changes) = cached(
        Api::<Workspace>::all(client.clone()),
        watcher::Config::default(),
    );
    let (role_cache, role_changes) =
        cached(Api::<Role>::all(client.clone()), watcher::Config::default());
    let controller = controller
        // A workspace created after its namespaces adopts them then.
        .watches_stream(workspace_changes, move |ws| {
            let name = ws.name_any();
            by_workspace
                .state_filter(|ns| workspace_label(ns) == Some(name.as_str()))
                .iter()
                .map(|ns| ObjectRef::from_obj(&**ns))
                .collect::<Vec<_>>()
        })
        // A default role deleted or edited is put back.
        .watches_stream(role_changes, |role| {
            let default = ks_types::builtin::NAMESPACE_ROLES.contains(&role.name_any().as_str());
            role.namespace()
                .filter(|_| default)
                .map(|ns| ObjectRef::new(&ns))
        });
    let reconciler = NamespaceReconciler {
        namespaces,
        users: Api::all(client.clone()),
        workspace_cache,
        role_cache,
        recorder: recorder(client, REPORTER),
        client: client.clone(),
    };
    start.drive(controller, reconciler)
}

/// The workspace a namespace's label puts it in, if any.
pub(crate) fn workspace_label(ns: &Namespace) -> Option<&str> {
    ns.labels()
        .get(WORKSPACE_LABEL)
        .map(String::as_str)
        .filter(|ws| !ws.is_empty())
}

/// Whether an ownerReference points to a Workspace.
pub(crate) fn is_workspace_ref(r: &OwnerReference) -> bool {
    r.kind == "Workspace" && r.api_version.starts_with("tenant.kubesphere.io/")
}

impl Reconciler for NamespaceReconciler {
    type Object = Namespace;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, ns: Arc<Namespace>) -> Result<Action, Error> {
        let name = ns.name_any();
        let has_finalizer = ns.finalizers().iter().any(|f| f == FINALIZER);
        if ns.meta().deletion_timestamp.is_some() {
            if has_finalizer {
                let mut without = (*ns).clone();
                without.finalizers_mut().retain(|f| f != FINALIZER);
                self.write(&name, &without, "remove the finalizer of")
                    .await?;
            }
            return Ok(Action::await_change());
        }
        let mut wrote = false;
        if !has_finalizer {
            wrote |= self.bind_creator(&ns).await?;
        }
        let desired = self.desired(&ns).await?;
        let ns = match desired {
            Some(desired) => {
                wrote = true;
                match self.write(&name, &desired, "update").await? {
                    Some(written) => Arc::new(written),
                    None => return Ok(Action::await_change()),
                }
            }
            None => ns,
        };
        if workspace_label(&ns).is_some() {
            wrote |= self.sync_roles(&name).await?;
        }
        if wrote {
            normal_event(
                &self.recorder,
                &*ns,
                "Synced",
                "Namespace synced successfully".to_owned(),
            )
            .await;
        }
        Ok(Action::await_change())
    }
}

impl NamespaceReconciler {
    /// Writes `ns`; `None` when it is gone.
    async fn write(
        &self,
        name: &str,
        ns: &Namespace,
        action: &'static str,
    ) -> Result<Option<Namespace>, Error> {
        match self
            .namespaces
            .replace(name, &PostParams::default(), ns)
            .await
        {
            Ok(written) => Ok(Some(written)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(Error::kube(action, "Namespace", name)(err)),
        }
    }

    /// The namespace with our finalizer, label and workspace reference, or
    /// `None` when it has them already.
    async fn desired(&self, ns: &Namespace) -> Result<Option<Namespace>, Error> {
        let name = ns.name_any();
        let mut want = ns.clone();
        if !want.finalizers().iter().any(|f| f == FINALIZER) {
            want.finalizers_mut().push(FINALIZER.to_owned());
        }
        if want.labels().get(NAMESPACE_LABEL) != Some(&name) {
            want.labels_mut()
                .insert(NAMESPACE_LABEL.to_owned(), name.clone());
        }
        let kubefed = ns.labels().get(KUBEFED_MANAGED_LABEL).map(String::as_str) == Some("true");
        if !kubefed {
            match workspace_label(ns) {
                Some(ws) => {
                    ready(&self.workspace_cache).await?;
                    let workspace = self.workspace_cache.get(&ObjectRef::new(ws));
                    // Gone or going: leave the reference to garbage collection.
                    if let Some(workspace) =
                        workspace.filter(|w| w.meta().deletion_timestamp.is_none())
                    {
                        let owner = controller_ref(&*workspace).ok_or_else(|| Error::Invalid {
                            kind: "Workspace",
                            name: ws.to_owned(),
                            reason: "it has no uid",
                        })?;
                        match set_controller(ns.owner_references(), &owner, is_workspace_ref) {
                            Controlled::Already => {}
                            Controlled::Set(refs) => want.metadata.owner_references = Some(refs),
                            Controlled::Conflict(other) => {
                                tracing::warn!(controller = NAME, namespace = %name, controller_ref = %other.name, "namespace has another controller; not binding it to its workspace");
                            }
                        }
                    }
                }
                None => {
                    if ns.owner_references().iter().any(is_workspace_ref) {
                        want.owner_references_mut().retain(|r| !is_workspace_ref(r));
                    }
                }
            }
        }
        let changed = want.metadata.finalizers != ns.metadata.finalizers
            || want.metadata.labels != ns.metadata.labels
            || want.metadata.owner_references != ns.metadata.owner_references;
        Ok(changed.then_some(want))
    }

    /// Binds the creator to the namespace's `admin` Role, if the creator is
    /// a user; whether it wrote.
    async fn bind_creator(&self, ns: &Namespace) -> Result<bool, Error> {
        let Some(creator) = ns
            .annotations()
            .get(CREATOR_ANNOTATION)
            .filter(|c| !c.is_empty())
        else {
            return Ok(false);
        };
        if !user_is_live(&self.users, creator).await? {
            return Ok(false);
        }
        let name = ns.name_any();
        let binding = creator_binding(creator, &name);
        let api: Api<RoleBinding> = Api::namespaced(self.client.clone(), &name);
        match api.create(&PostParams::default(), &binding).await {
            Ok(_) => {}
            // Made before, or by someone else: KubeSphere leaves it as is.
            Err(err) if is_conflict(&err) => return Ok(false),
            // The namespace went, or is going, meanwhile.
            Err(err) if is_not_found(&err) || is_namespace_terminating(&err) => return Ok(false),
            Err(err) => {
                return Err(Error::kube("create", "RoleBinding", binding.name_any())(
                    err,
                ));
            }
        }
        // The user may have been deleted, and its bindings cleaned up, since
        // we looked: then this binding would outlive it.
        if !user_is_live(&self.users, creator).await? {
            match api.delete(&binding.name_any(), &Default::default()).await {
                Ok(_) => {}
                Err(err) if is_not_found(&err) => {}
                Err(err) => {
                    return Err(Error::kube("delete", "RoleBinding", binding.name_any())(
                        err,
                    ));
                }
            }
        }
        Ok(true)
    }

    /// Creates the default roles or puts back what they must hold; whether
    /// it wrote.
    async fn sync_roles(&self, namespace: &str) -> Result<bool, Error> {
        let api: Api<Role> = Api::namespaced(self.client.clone(), namespace);
        let wants = ks_types::builtin::namespace_roles(Some(namespace));
        sync_builtin_roles(&api, &self.role_cache, wants, None).await
    }
}

/// Whether user `name` exists and is not being deleted.
pub(crate) async fn user_is_live(users: &Api<User>, name: &str) -> Result<bool, Error> {
    Ok(get_opt(users, name, "User")
        .await?
        .is_some_and(|u| u.meta().deletion_timestamp.is_none()))
}

/// `<creator>-admin`: the creator's binding to the namespace's `admin` Role.
fn creator_binding(creator: &str, namespace: &str) -> RoleBinding {
    RoleBinding {
        metadata: kube::api::ObjectMeta {
            name: Some(format!("{creator}-{ADMIN_ROLE}")),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                USER_REFERENCE_LABEL.to_owned(),
                creator.to_owned(),
            )])),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: ADMIN_ROLE.to_owned(),
        },
        subjects: Some(vec![Subject {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "User".to_owned(),
            name: creator.to_owned(),
            namespace: None,
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creator_binding_is_kubesphere_s() {
        let b = creator_binding("alice", "dev");
        assert_eq!(b.metadata.name.as_deref(), Some("alice-admin"));
        assert_eq!(b.metadata.namespace.as_deref(), Some("dev"));
        assert_eq!(b.metadata.labels.unwrap()[USER_REFERENCE_LABEL], "alice");
        assert_eq!(
            (b.role_ref.kind.as_str(), b.role_ref.name.as_str()),
            ("Role", "admin")
        );
        assert_eq!(b.subjects.unwrap()[0].name, "alice");
    }

    #[test]
    fn workspace_references_are_recognised() {
        let r = |api_version: &str, kind: &str| OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            ..Default::default()
        };
        assert!(is_workspace_ref(&r(
            "tenant.kubesphere.io/v1alpha1",
            "Workspace"
        )));
        assert!(is_workspace_ref(&r(
            "tenant.kubesphere.io/v1alpha2",
            "Workspace"
        )));
        assert!(!is_workspace_ref(&r(
            "tenant.kubesphere.io/v1alpha2",
            "WorkspaceTemplate"
        )));
        assert!(!is_workspace_ref(&r("example.com/v1", "Workspace")));
    }
}
