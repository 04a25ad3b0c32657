//! The `globalrolebinding` controller: a platform-admin is a cluster-admin
//! too.
//!
//! KubeSphere v3.4 semantics
//! (`pkg/controller/globalrolebinding/globalrolebinding_controller.go`): a
//! GlobalRoleBinding to the GlobalRole `platform-admin` gets the
//! ClusterRoleBinding `<user>-cluster-admin` (the binding's first User
//! subject) to the ClusterRole `cluster-admin`, for the binding's User
//! subjects, with a controller ownerReference to the GlobalRoleBinding, so
//! it goes with it.
//!
//! Deliberate differences from KubeSphere:
//!
//! - the ClusterRoleBinding is kept in step with the GlobalRoleBinding's
//!   User subjects (KubeSphere creates it once): changed subjects are
//!   written, and a ClusterRoleBinding the GlobalRoleBinding controls but no
//!   longer wants (its first user changed, or it no longer binds
//!   platform-admin) is deleted;
//! - a ClusterRoleBinding of that name that something else made is left
//!   alone, as KubeSphere does when its create finds it;
//! - the Synced Event only when something was written; the multi-cluster
//!   FederatedRoleBinding copy is not made (the seam is
//!   `GlobalRoleBindingReconciler::reconcile`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use ks_types::builtin::PLATFORM_ADMIN;
use ks_types::iam::GlobalRoleBinding;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource as _, ResourceExt as _};

use crate::runtime::{
    Reconciler, cached, controller_ref, is_conflict, is_not_found, normal_event, ready, recorder,
};
use crate::{Error, Start};

/// The controller's name in `--controllers`.
pub const NAME: &str = "globalrolebinding";
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "globalrolebinding-controller";
/// Kubernetes' all-powerful ClusterRole.
pub const CLUSTER_ADMIN: &str = "cluster-admin";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

struct GlobalRoleBindingReconciler {
    cluster_role_bindings: Api<ClusterRoleBinding>,
    owned: Store<ClusterRoleBinding>,
    recorder: Recorder,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let client = &start.client;
    let bindings: Api<GlobalRoleBinding> = Api::all(client.clone());
    let (owned, owned_changes) = cached(
        Api::<ClusterRoleBinding>::all(client.clone()),
        watcher::Config::default(),
    );
    // An owned ClusterRoleBinding deleted or edited is put back.
    let controller = Controller::new(bindings, watcher::Config::default()).watches_stream(
        owned_changes,
        |crb| {
            crb.owner_references()
                .iter()
                .find(|r| r.controller == Some(true) && r.kind == "GlobalRoleBinding")
                .map(|r| ObjectRef::new(&r.name))
        },
    );
    let reconciler = GlobalRoleBindingReconciler {
        cluster_role_bindings: Api::all(client.clone()),
        owned,
        recorder: recorder(client, REPORTER),
    };
    start.drive(controller, reconciler)
}

/// The ClusterRoleBinding a GlobalRoleBinding wants, if any.
fn desired(grb: &GlobalRoleBinding) -> Option<ClusterRoleBinding> {
    if grb.role_ref.name != PLATFORM_ADMIN || grb.meta().deletion_timestamp.is_some() {
        return None;
    }
    let users: Vec<Subject> = grb
        .subjects
        .iter()
        .filter(|s| s.kind == "User")
        .map(|s| Subject {
            api_group: Some(RBAC_GROUP.to_owned()),
            kind: "User".to_owned(),
            name: s.name.clone(),
            namespace: None,
        })
        .collect();
    let first = users.first()?.name.clone();
    let mut crb = ClusterRoleBinding {
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_owned(),
            kind: "ClusterRole".to_owned(),
            name: CLUSTER_ADMIN.to_owned(),
        },
        subjects: Some(users),
        ..ClusterRoleBinding::default()
    };
    crb.metadata.name = Some(format!("{first}-{CLUSTER_ADMIN}"));
    crb.metadata.owner_references = Some(vec![controller_ref(grb)?]);
    Some(crb)
}

/// Whether `crb` is controlled by the GlobalRoleBinding with `uid`.
fn controlled_by(crb: &ClusterRoleBinding, uid: &str) -> bool {
    crb.owner_references()
        .iter()
        .any(|r| r.controller == Some(true) && r.uid == uid && r.kind == "GlobalRoleBinding")
}

impl Reconciler for GlobalRoleBindingReconciler {
    type Object = GlobalRoleBinding;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, grb: Arc<GlobalRoleBinding>) -> Result<Action, Error> {
        let uid = grb.uid().unwrap_or_default();
        let want = desired(&grb);
        let want_name = want.as_ref().and_then(|w| w.metadata.name.clone());
        let mut wrote = false;
        ready(&self.owned).await?;

        // What this binding controls but no longer wants goes.
        for stale in self.owned.state_filter(|crb| {
            controlled_by(crb, &uid)
                && crb.metadata.name != want_name
                && crb.meta().deletion_timestamp.is_none()
        }) {
            let name = stale.name_any();
            match self
                .cluster_role_bindings
                .delete(&name, &DeleteParams::default())
                .await
            {
                Ok(_) => wrote = true,
                Err(err) if is_not_found(&err) => {}
                Err(err) => return Err(Error::kube("delete", "ClusterRoleBinding", name)(err)),
            }
        }

        if let Some(want) = want {
            let name = want.name_any();
            match self.owned.get(&ObjectRef::new(&name)) {
                None => match self
                    .cluster_role_bindings
                    .create(&PostParams::default(), &want)
                    .await
                {
                    Ok(_) => wrote = true,
                    // The cache is behind, or someone else made it.
                    Err(err) if is_conflict(&err) => {}
                    Err(err) => {
                        return Err(Error::kube("create", "ClusterRoleBinding", name)(err));
                    }
                },
                // Made by something else: not ours to change.
                Some(have) if !controlled_by(&have, &uid) => {}
                Some(have) if have.meta().deletion_timestamp.is_some() => {}
                Some(have) if have.role_ref != want.role_ref => {
                    // A roleRef cannot change: delete, and create on the
                    // next reconcile.
                    match self
                        .cluster_role_bindings
                        .delete(&name, &DeleteParams::default())
                        .await
                    {
                        Ok(_) => wrote = true,
                        Err(err) if is_not_found(&err) => {}
                        Err(err) => {
                            return Err(Error::kube("delete", "ClusterRoleBinding", name)(err));
                        }
                    }
                }
                Some(have) if have.subjects != want.subjects => {
                    let mut update = (*have).clone();
                    update.subjects = want.subjects;
                    self.cluster_role_bindings
                        .replace(&name, &PostParams::default(), &update)
                        .await
                        .map_err(Error::kube("update", "ClusterRoleBinding", &name))?;
                    wrote = true;
                }
                Some(_) => {}
            }
        }
        if wrote {
            normal_event(
                &self.recorder,
                &*grb,
                "Synced",
                "GlobalRoleBinding synced successfully".to_owned(),
            )
            .await;
        }
        Ok(Action::await_change())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grb(role: &str, subjects: &[(&str, &str)]) -> GlobalRoleBinding {
        let mut b = GlobalRoleBinding::default();
        b.metadata.name = Some("b".into());
        b.metadata.uid = Some("uid-b".into());
        b.role_ref.name = role.into();
        b.subjects = subjects
            .iter()
            .map(|(kind, name)| Subject {
                kind: (*kind).into(),
                name: (*name).into(),
                ..Subject::default()
            })
            .collect();
        b
    }

    #[test]
    fn only_platform_admins_with_users_get_one() {
        assert!(desired(&grb("platform-regular", &[("User", "a")])).is_none());
        assert!(desired(&grb(PLATFORM_ADMIN, &[("Group", "g")])).is_none());
        let crb = desired(&grb(
            PLATFORM_ADMIN,
            &[("Group", "g"), ("User", "alice"), ("User", "bob")],
        ))
        .unwrap();
        assert_eq!(crb.metadata.name.as_deref(), Some("alice-cluster-admin"));
        assert_eq!(crb.role_ref.name, CLUSTER_ADMIN);
        let names: Vec<_> = crb
            .subjects
            .as_ref()
            .unwrap()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        assert!(
            crb.subjects
                .unwrap()
                .iter()
                .all(|s| s.api_group.as_deref() == Some(RBAC_GROUP))
        );
        assert!(controlled_by(
            &desired(&grb(PLATFORM_ADMIN, &[("User", "a")])).unwrap(),
            "uid-b"
        ));
    }
}
