//! The `groupbinding` controller: keeps users' `spec.groups` in step with
//! the GroupBindings that list them.
//!
//! KubeSphere v3.4 semantics (`pkg/controller/groupbinding/
//! groupbinding_controller.go`):
//!
//! - the finalizer [`FINALIZER`] is added to every GroupBinding;
//! - the bound group (`groupRef.name`) is added to the `spec.groups` of
//!   each user the binding lists (validation keeps `users` free of
//!   repeats), once; users that do not exist or are
//!   being deleted are skipped;
//! - on deletion of the binding, the group is removed from those users'
//!   `spec.groups`, then the finalizer goes.
//!
//! The `iam.kubesphere.io/user-ref` and `iam.kubesphere.io/group-ref` labels
//! of a binding are set by the API that creates it (ks-apiserver's
//! `workspaces/{ws}/groupbindings`, as KubeSphere's), not by the controller.
//!
//! Deliberate differences from KubeSphere:
//!
//! - a change of a user reconciles the bindings listing it, so a user
//!   created after its binding, or whose `spec.groups` was edited, gets the
//!   group (KubeSphere waits for the next change of the binding);
//! - deleting a binding keeps the group of a user that another live
//!   binding still puts in it;
//! - a user's groups are written with a merge patch carrying the
//!   resourceVersion that was read, re-read on a conflict, so two bindings
//!   of one user never lose each other's group (KubeSphere's patch has no
//!   precondition);
//! - errors reading a user are retried (KubeSphere skips the user);
//! - the `Synced` Event is recorded only when a user was written
//!   (KubeSphere records it on every reconcile);
//! - a user removed from a binding's `users` keeps the group, as in
//!   KubeSphere: the controller does not know whom a binding used to list.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use ks_types::iam::{GroupBinding, User};
use kube::ResourceExt as _;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Value, json};

use crate::runtime::{Reconciler, get_opt, is_conflict, is_not_found, normal_event, recorder};
use crate::{Error, Start};

/// The controller's name in `--controllers`.
pub const NAME: &str = "groupbinding";
/// The finalizer the controller keeps on GroupBindings until their users
/// have left the group.
pub const FINALIZER: &str = ks_types::meta::GROUP_BINDING_FINALIZER;
/// The reporting controller of its Events (KubeSphere's name).
pub const REPORTER: &str = "groupbinding-controller";
/// Writes of one user's groups tried before a conflict is an error
/// (client-go's `retry.DefaultRetry` makes 5 attempts too).
const CONFLICT_ATTEMPTS: usize = 5;

struct GroupBindingReconciler {
    bindings: Api<GroupBinding>,
    users: Api<User>,
    recorder: Recorder,
}

pub(crate) fn start(start: Start) -> BoxFuture<'static, ()> {
    let bindings: Api<GroupBinding> = Api::all(start.client.clone());
    let users: Api<User> = Api::all(start.client.clone());
    let controller = Controller::new(bindings.clone(), watcher::Config::default());
    let store = controller.store();
    let controller = controller.watches(users.clone(), watcher::Config::default(), move |user| {
        let name = user.name_any();
        store
            .state_filter(|b| b.users.contains(&name))
            .iter()
            .map(|b| ObjectRef::from_obj(&**b))
            .collect::<Vec<_>>()
    });
    let reconciler = GroupBindingReconciler {
        bindings,
        users,
        recorder: recorder(&start.client, REPORTER),
    };
    start.drive(controller, reconciler)
}

impl Reconciler for GroupBindingReconciler {
    type Object = GroupBinding;
    const NAME: &'static str = NAME;

    async fn reconcile(&self, binding: Arc<GroupBinding>) -> Result<Action, Error> {
        finalizer(&self.bindings, FINALIZER, binding, |event| async {
            match event {
                FinalizerEvent::Apply(binding) => self.apply(&binding).await,
                FinalizerEvent::Cleanup(binding) => self.cleanup(&binding).await,
            }
        })
        .await
        .map_err(|err| Error::Finalizer(Box::new(err)))
    }
}

impl GroupBindingReconciler {
    async fn apply(&self, binding: &GroupBinding) -> Result<Action, Error> {
        // Multicluster seam: KubeSphere also labels the binding
        // `kubefed.io/managed: "false"` and keeps a FederatedGroupBinding
        // of it when multicluster is enabled; ks-rs has no kubefed.
        let group = &binding.group_ref.name;
        if group.is_empty() {
            return Ok(Action::await_change());
        }
        let mut wrote = false;
        for user in &binding.users {
            wrote |= self
                .update_groups(user, |groups| with_group(groups, group))
                .await?;
        }
        if wrote {
            normal_event(
                &self.recorder,
                binding,
                "Synced",
                "GroupBinding synced successfully".to_owned(),
            )
            .await;
        }
        Ok(Action::await_change())
    }

    async fn cleanup(&self, binding: &GroupBinding) -> Result<Action, Error> {
        let group = &binding.group_ref.name;
        if group.is_empty() || binding.users.is_empty() {
            return Ok(Action::await_change());
        }
        // Read fresh rather than from the watch: a binding deleted a moment
        // ago must not keep a user in the group.
        let others = self
            .bindings
            .list(&ListParams::default())
            .await
            .map_err(Error::kube("list", "GroupBinding", ""))?
            .items;
        let this = binding.name_any();
        for user in &binding.users {
            let still_bound = others.iter().any(|b| {
                b.name_any() != this
                    && b.metadata.deletion_timestamp.is_none()
                    && b.group_ref.name == *group
                    && b.users.iter().any(|u| u == user)
            });
            if !still_bound {
                self.update_groups(user, |groups| without_group(groups, group))
                    .await?;
            }
        }
        Ok(Action::await_change())
    }

    /// Rewrites `user`'s `spec.groups` with `change` unless it returns
    /// `None`; a missing user, or one being deleted, is left alone.
    /// Returns whether it wrote.
    async fn update_groups(
        &self,
        user: &str,
        change: impl Fn(&[String]) -> Option<Vec<String>>,
    ) -> Result<bool, Error> {
        let mut attempt = 1;
        loop {
            let Some(current) = get_opt(&self.users, user, "User").await? else {
                return Ok(false);
            };
            if current.metadata.deletion_timestamp.is_some() {
                return Ok(false);
            }
            let Some(groups) = change(&current.spec.groups) else {
                return Ok(false);
            };
            let groups = if groups.is_empty() {
                Value::Null
            } else {
                json!(groups)
            };
            let patch = json!({
                "metadata": {"resourceVersion": current.resource_version()},
                "spec": {"groups": groups},
            });
            match self
                .users
                .patch(user, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(true),
                Err(err) if is_conflict(&err) && attempt < CONFLICT_ATTEMPTS => attempt += 1,
                Err(err) if is_not_found(&err) => return Ok(false),
                Err(err) => return Err(Error::kube("update", "User", user)(err)),
            }
        }
    }
}

/// `groups` with `group` appended, if it lacks it.
fn with_group(groups: &[String], group: &str) -> Option<Vec<String>> {
    if groups.iter().any(|g| g == group) {
        return None;
    }
    let mut out = groups.to_vec();
    out.push(group.to_owned());
    Some(out)
}

/// `groups` without `group`, if it has it.
fn without_group(groups: &[String], group: &str) -> Option<Vec<String>> {
    if !groups.iter().any(|g| g == group) {
        return None;
    }
    Some(groups.iter().filter(|g| *g != group).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|&s| s.to_owned()).collect()
    }

    #[test]
    fn group_changes_table() {
        // (groups, group, with it, without it); None: no write.
        type Case = (
            &'static [&'static str],
            &'static str,
            Option<&'static [&'static str]>,
            Option<&'static [&'static str]>,
        );
        let cases: &[Case] = &[
            (&[], "devs", Some(&["devs"]), None),
            (&["ops"], "devs", Some(&["ops", "devs"]), None),
            (&["devs"], "devs", None, Some(&[])),
            (&["ops", "devs", "qa"], "devs", None, Some(&["ops", "qa"])),
            // A repeat left by someone else goes with the group.
            (&["devs", "ops", "devs"], "devs", None, Some(&["ops"])),
        ];
        for (i, (groups, group, with, without)) in cases.iter().enumerate() {
            let groups = strings(groups);
            assert_eq!(with_group(&groups, group), with.map(strings), "case {i}");
            assert_eq!(
                without_group(&groups, group),
                without.map(strings),
                "case {i}"
            );
        }
    }
}
