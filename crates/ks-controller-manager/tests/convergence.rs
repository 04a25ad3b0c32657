//! Convergence: random sequences of creating and deleting users, workspace
//! templates, namespaces, groups and group bindings, with the controllers
//! restarted at random points, always end, once the store is quiet, in a
//! state where KubeSphere's invariants hold, and a full resync of that
//! state writes nothing.
//!
//! The invariants, checked against what the API serves:
//! - every workspace template has its Workspace, its four roles owned by
//!   it, and its manager's binding when the manager exists;
//! - every namespace in an existing workspace is owned by it and has the
//!   default roles; its creator's binding exists when the creator existed
//!   when the namespace was made and has not been deleted since;
//! - no object labelled with a user or a group that is gone remains;
//! - no object carries a finalizer of ours together with a
//!   deletionTimestamp (nothing is stuck);
//! - every user has the user finalizer and a state, and is in the groups
//!   its group bindings name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::Harness;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, Role, RoleBinding};
use ks_types::iam::{
    GlobalRoleBinding, Group, GroupBinding, LoginRecord, User, WorkspaceRole, WorkspaceRoleBinding,
};
use ks_types::tenant::{Workspace, WorkspaceTemplate};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Resource, ResourceExt as _};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::json;

const USERS: u8 = 3;
const WORKSPACES: u8 = 2;
const NAMESPACES: u8 = 4;
const GROUPS: u8 = 2;

#[derive(Clone, Debug)]
enum Op {
    CreateUser(u8),
    DeleteUser(u8),
    CreateWorkspace {
        ws: u8,
        manager: u8,
    },
    DeleteWorkspace {
        ws: u8,
        orphan: bool,
    },
    CreateNamespace {
        ns: u8,
        ws: Option<u8>,
        creator: u8,
    },
    DeleteNamespace(u8),
    CreateGroup {
        group: u8,
        ws: u8,
    },
    DeleteGroup(u8),
    BindGroup {
        group: u8,
        user: u8,
    },
    RestartControllers,
    /// Let the controllers work for a while before the next operation.
    Pause(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..USERS).prop_map(Op::CreateUser),
        1 => (0..USERS).prop_map(Op::DeleteUser),
        3 => (0..WORKSPACES, 0..USERS).prop_map(|(ws, manager)| Op::CreateWorkspace { ws, manager }),
        1 => (0..WORKSPACES, any::<bool>()).prop_map(|(ws, orphan)| Op::DeleteWorkspace { ws, orphan }),
        3 => (0..NAMESPACES, proptest::option::of(0..WORKSPACES), 0..USERS)
            .prop_map(|(ns, ws, creator)| Op::CreateNamespace { ns, ws, creator }),
        1 => (0..NAMESPACES).prop_map(Op::DeleteNamespace),
        2 => (0..GROUPS, 0..WORKSPACES).prop_map(|(group, ws)| Op::CreateGroup { group, ws }),
        1 => (0..GROUPS).prop_map(Op::DeleteGroup),
        2 => (0..GROUPS, 0..USERS).prop_map(|(group, user)| Op::BindGroup { group, user }),
        1 => Just(Op::RestartControllers),
        1 => (1u8..20).prop_map(Op::Pause),
    ]
}

fn user(u: u8) -> String {
    format!("user-{u}")
}
fn ws(w: u8) -> String {
    format!("ws-{w}")
}
fn ns(n: u8) -> String {
    format!("ns-{n}")
}
fn group(g: u8) -> String {
    format!("group-{g}")
}

/// What the test itself knows: which namespaces should have their
/// creator's binding.
#[derive(Default)]
struct Model {
    /// Namespaces whose creator existed when they were made and has not
    /// been deleted since.
    creator_bound: BTreeMap<String, String>,
}

/// Creates `obj`; an object of that name already there (or still being
/// deleted) is fine: the sequence is random.
async fn create<K>(api: &Api<K>, obj: serde_json::Value)
where
    K: Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(obj).unwrap();
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(err) => panic!("create {:?}: {err}", obj.meta().name),
    }
}

async fn delete<K>(api: &Api<K>, name: &str, params: &DeleteParams)
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, params).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
        Err(err) => panic!("delete {name}: {err}"),
    }
}

async fn exists<K>(api: &Api<K>, name: &str) -> bool
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name)
        .await
        .unwrap()
        .is_some_and(|o| o.meta().deletion_timestamp.is_none())
}

async fn apply(h: &mut Harness, model: &mut Model, op: &Op) {
    let users: Api<User> = h.api();
    match op {
        Op::CreateUser(u) => {
            create(
                &users,
                json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
                       "metadata": {"name": user(*u)},
                       "spec": {"email": format!("{}@example.com", user(*u)),
                                "password": "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}}),
            )
            .await;
        }
        Op::DeleteUser(u) => {
            model
                .creator_bound
                .retain(|_, creator| *creator != user(*u));
            delete(&users, &user(*u), &DeleteParams::default()).await;
        }
        Op::CreateWorkspace { ws: w, manager } => {
            create(
                &h.api::<WorkspaceTemplate>(),
                json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
                       "metadata": {"name": ws(*w)},
                       "spec": {"template": {"spec": {"manager": user(*manager)}}, "placement": {}}}),
            )
            .await;
        }
        Op::DeleteWorkspace { ws: w, orphan } => {
            let templates: Api<WorkspaceTemplate> = h.api();
            if *orphan && exists(&templates, &ws(*w)).await {
                // KubeSphere's console adds the orphan finalizer before the
                // delete when the user keeps the projects.
                let patch = json!({"metadata": {"finalizers": [
                    "finalizers.workspacetemplate.kubesphere.io", "orphan.finalizers.kubesphere.io"]}});
                let _ = templates
                    .patch(
                        &ws(*w),
                        &Default::default(),
                        &kube::api::Patch::Merge(patch),
                    )
                    .await;
            }
            delete(&templates, &ws(*w), &DeleteParams::default()).await;
        }
        Op::CreateNamespace {
            ns: n,
            ws: w,
            creator,
        } => {
            let namespaces: Api<Namespace> = h.api();
            let fresh = namespaces.get_opt(&ns(*n)).await.unwrap().is_none();
            let mut labels = json!({});
            if let Some(w) = w {
                labels["kubesphere.io/workspace"] = json!(ws(*w));
            }
            create(
                &namespaces,
                json!({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": ns(*n), "labels": labels,
                                    "annotations": {"kubesphere.io/creator": user(*creator)}}}),
            )
            .await;
            if fresh && exists(&users, &user(*creator)).await {
                model.creator_bound.insert(ns(*n), user(*creator));
            }
        }
        Op::DeleteNamespace(n) => {
            model.creator_bound.remove(&ns(*n));
            delete(&h.api::<Namespace>(), &ns(*n), &DeleteParams::default()).await;
        }
        Op::CreateGroup { group: g, ws: w } => {
            create(
                &h.api::<Group>(),
                json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "Group",
                       "metadata": {"name": group(*g), "labels": {"kubesphere.io/workspace": ws(*w)}},
                       "spec": {}}),
            )
            .await;
        }
        Op::DeleteGroup(g) => {
            delete(&h.api::<Group>(), &group(*g), &DeleteParams::default()).await;
        }
        Op::BindGroup { group: g, user: u } => {
            // As KubeSphere's API does, only existing users are bound.
            if exists(&h.api::<Group>(), &group(*g)).await && exists(&users, &user(*u)).await {
                create(
                    &h.api::<GroupBinding>(),
                    json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GroupBinding",
                           "metadata": {"name": format!("{}-{}", group(*g), user(*u)),
                                        "labels": {"iam.kubesphere.io/group-ref": group(*g),
                                                   "iam.kubesphere.io/user-ref": user(*u)}},
                           "groupRef": {"apiGroup": "iam.kubesphere.io", "kind": "Group", "name": group(*g)},
                           "users": [user(*u)]}),
                )
                .await;
            }
        }
        Op::RestartControllers => {
            h.restart_controllers().await;
        }
        Op::Pause(ms) => {
            tokio::time::sleep(Duration::from_millis(u64::from(*ms) * 5)).await;
        }
    }
}

async fn list<K>(h: &Harness) -> Vec<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    Api::<K>::all(h.client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

const OUR_FINALIZERS: &[&str] = &[
    "finalizers.kubesphere.io/users",
    "finalizers.workspacetemplate.kubesphere.io",
    "orphan.finalizers.kubesphere.io",
    "finalizers.tenant.kubesphere.io",
    "finalizers.kubesphere.io/namespaces",
    "finalizers.kubesphere.io/groups",
    "finalizers.kubesphere.io/groupsbindings",
];

/// Objects stuck in deletion with one of our finalizers, and objects
/// labelled with a user or group that is gone, among `items`.
fn stuck_or_dangling<K: Resource>(
    kind: &str,
    items: &[K],
    users: &BTreeSet<String>,
    groups: &BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    for obj in items {
        let name = obj.meta().name.clone().unwrap_or_default();
        let deleting = obj.meta().deletion_timestamp.is_some();
        if deleting
            && obj
                .meta()
                .finalizers
                .iter()
                .flatten()
                .any(|f| OUR_FINALIZERS.contains(&f.as_str()))
        {
            problems.push(format!(
                "{kind} {name} is stuck deleting: {:?}",
                obj.meta().finalizers
            ));
        }
        if deleting {
            continue;
        }
        let labels = obj.meta().labels.clone().unwrap_or_default();
        if let Some(u) = labels.get("iam.kubesphere.io/user-ref")
            && !users.contains(u)
        {
            problems.push(format!("{kind} {name} refers to user {u}, who is gone"));
        }
        if let Some(g) = labels.get("iam.kubesphere.io/group-ref")
            && !groups.contains(g)
        {
            problems.push(format!("{kind} {name} refers to group {g}, which is gone"));
        }
    }
}

/// Every invariant; the problems found (empty when it holds).
async fn invariants(h: &Harness, model: &Model) -> Vec<String> {
    let mut problems = Vec::new();
    let live = |meta: &kube::api::ObjectMeta| meta.deletion_timestamp.is_none();
    let users: Vec<User> = list(h).await;
    let user_names: BTreeSet<String> = users
        .iter()
        .filter(|u| live(&u.metadata))
        .map(|u| u.name_any())
        .collect();
    let groups: Vec<Group> = list(h).await;
    let group_names: BTreeSet<String> = groups
        .iter()
        .filter(|g| live(&g.metadata))
        .map(|g| g.name_any())
        .collect();
    let templates: Vec<WorkspaceTemplate> = list(h).await;
    let workspaces: Vec<Workspace> = list(h).await;
    let roles: Vec<WorkspaceRole> = list(h).await;
    let wrbs: Vec<WorkspaceRoleBinding> = list(h).await;
    let namespaces: Vec<Namespace> = list(h).await;
    let ns_roles: Vec<Role> = list(h).await;
    let rbs: Vec<RoleBinding> = list(h).await;
    let group_bindings: Vec<GroupBinding> = list(h).await;

    for t in templates.iter().filter(|t| live(&t.metadata)) {
        let name = t.name_any();
        let uid = t.uid().unwrap();
        if !workspaces
            .iter()
            .any(|w| w.name_any() == name && live(&w.metadata))
        {
            problems.push(format!("workspace template {name} has no Workspace"));
        }
        for base in ["admin", "regular", "viewer", "self-provisioner"] {
            let role = format!("{name}-{base}");
            let owned = roles.iter().any(|r| {
                r.name_any() == role
                    && r.owner_references()
                        .iter()
                        .any(|o| o.uid == uid && o.controller == Some(true))
            });
            if !owned {
                problems.push(format!("workspace {name} lacks its owned role {role}"));
            }
        }
        let manager = &t.spec.template.spec.manager;
        if user_names.contains(manager)
            && !wrbs.iter().any(|b| {
                b.name_any() == format!("{name}-admin")
                    && b.subjects.first().map(|s| &s.name) == Some(manager)
            })
        {
            problems.push(format!(
                "workspace {name} lacks its manager {manager}'s binding"
            ));
        }
    }
    for n in namespaces.iter().filter(|n| live(&n.metadata)) {
        let name = n.name_any();
        if !name.starts_with("ns-") {
            continue;
        }
        if !n
            .finalizers()
            .iter()
            .any(|f| f == "finalizers.kubesphere.io/namespaces")
        {
            problems.push(format!("namespace {name} lacks its finalizer"));
        }
        if let Some(w) = n.labels().get("kubesphere.io/workspace")
            && let Some(workspace) = workspaces
                .iter()
                .find(|x| &x.name_any() == w && live(&x.metadata))
        {
            let uid = workspace.uid().unwrap();
            if !n
                .owner_references()
                .iter()
                .any(|o| o.uid == uid && o.controller == Some(true))
            {
                problems.push(format!(
                    "namespace {name} is not owned by its workspace {w}"
                ));
            }
            for role in ["admin", "operator", "viewer"] {
                if !ns_roles
                    .iter()
                    .any(|r| r.name_any() == role && r.namespace().as_deref() == Some(&name))
                {
                    problems.push(format!("namespace {name} lacks its role {role}"));
                }
            }
        }
        if let Some(creator) = model.creator_bound.get(&name)
            && !rbs.iter().any(|b| {
                b.name_any() == format!("{creator}-admin")
                    && b.namespace().as_deref() == Some(&name)
            })
        {
            problems.push(format!(
                "namespace {name} lacks its creator {creator}'s binding"
            ));
        }
    }
    for u in users.iter().filter(|u| live(&u.metadata)) {
        let name = u.name_any();
        if !u
            .finalizers()
            .iter()
            .any(|f| f == "finalizers.kubesphere.io/users")
            || u.status.state.is_none()
        {
            problems.push(format!(
                "user {name} is not settled: {:?} {:?}",
                u.finalizers(),
                u.status
            ));
        }
    }
    for b in group_bindings.iter().filter(|b| live(&b.metadata)) {
        for member in &b.users {
            if let Some(u) = users
                .iter()
                .find(|u| &u.name_any() == member && live(&u.metadata))
                && !u.spec.groups.contains(&b.group_ref.name)
            {
                problems.push(format!(
                    "user {member} is not in group {} of binding {}",
                    b.group_ref.name,
                    b.name_any()
                ));
            }
        }
    }
    let (u, g) = (&user_names, &group_names);
    stuck_or_dangling("User", &users, u, g, &mut problems);
    stuck_or_dangling("Group", &groups, u, g, &mut problems);
    stuck_or_dangling("WorkspaceTemplate", &templates, u, g, &mut problems);
    stuck_or_dangling("Workspace", &workspaces, u, g, &mut problems);
    stuck_or_dangling("WorkspaceRoleBinding", &wrbs, u, g, &mut problems);
    stuck_or_dangling("Namespace", &namespaces, u, g, &mut problems);
    stuck_or_dangling("RoleBinding", &rbs, u, g, &mut problems);
    stuck_or_dangling("GroupBinding", &group_bindings, u, g, &mut problems);
    stuck_or_dangling(
        "GlobalRoleBinding",
        &list::<GlobalRoleBinding>(h).await,
        u,
        g,
        &mut problems,
    );
    stuck_or_dangling(
        "ClusterRoleBinding",
        &list::<ClusterRoleBinding>(h).await,
        u,
        g,
        &mut problems,
    );
    stuck_or_dangling(
        "LoginRecord",
        &list::<LoginRecord>(h).await,
        u,
        g,
        &mut problems,
    );
    problems
}

async fn run(ops: Vec<Op>) {
    let mut h = Harness::start("*").await;
    let mut model = Model::default();
    for op in &ops {
        apply(&mut h, &mut model, op).await;
    }
    // Quiet, then every invariant; a requeue after a conflict may still be
    // pending when the store looks quiet, so look again before failing.
    let mut problems = Vec::new();
    for _ in 0..40 {
        h.quiet().await;
        problems = invariants(&h, &model).await;
        if problems.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        problems.is_empty(),
        "after {ops:#?}:\n{}",
        problems.join("\n")
    );
    h.assert_resync_writes_nothing().await;
    assert_eq!(
        h.errors(),
        0,
        "failed reconciles other than write conflicts"
    );
    h.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn controllers_converge(ops in proptest::collection::vec(op(), 4..28)) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops));
    }
}
