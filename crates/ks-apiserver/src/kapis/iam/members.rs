//! `iam.kubesphere.io/v1alpha2` members of the cluster
//! (`clustermembers`), of a workspace (`workspaces/{ws}/workspacemembers`)
//! and of a namespace (`namespaces/{ns}/members`): list, get, add, change
//! the role, remove, and the role templates a member holds there.
//!
//! What KubeSphere 3.4 does (`pkg/kapis/iam/v1alpha2/handler.go`,
//! `pkg/models/iam/am/am.go`, `pkg/models/resources/v1alpha3/user`), and
//! ks-rs with it:
//!
//! - a member is a user a binding of the scope names (a
//!   ClusterRoleBinding, a WorkspaceRoleBinding labelled with the
//!   workspace, a RoleBinding of the namespace); the lists and gets return
//!   the users, without password hashes, annotated with their role there:
//!   `iam.kubesphere.io/clusterrole`, `iam.kubesphere.io/workspacerole`,
//!   `iam.kubesphere.io/role` (the first binding's when there are
//!   several). The lists take the common query, the user filters
//!   (`email`, `ingroup`, `notingroup`) and the role filter of the scope:
//!   `clusterrole`, `workspacerole`, `role`. A user who is not a member is
//!   a 404;
//! - `POST` with `[{"username", "roleRef"}]` binds each user to the role
//!   with the binding `<user>-<role>` (label `iam.kubesphere.io/user-ref`,
//!   and `kubesphere.io/workspace` for a workspace), replacing the user's
//!   other bindings of the scope; `PUT .../{member}` with one such object
//!   changes the role; both answer what they were sent. `DELETE
//!   .../{member}` removes the user's bindings of the scope and answers
//!   `{"message": "success"}`;
//! - `clustermembers/{m}/clusterroles`, `workspacemembers/{m}/
//!   workspaceroles` and `members/{m}/roles` list the role templates the
//!   member's role aggregates (its `iam.kubesphere.io/aggregation-roles`);
//!   for a workspace or a namespace, the roles of the member's groups
//!   count too, and the templates of all of them are merged. No binding:
//!   `[]`.
//!
//! Where ks-rs differs, deliberately:
//!
//! - adding a member who is not a user is a 404 naming the user
//!   (KubeSphere binds the name anyway); a role that does not exist in the
//!   scope is a 404 naming the role, as in KubeSphere. Every member of a
//!   `POST` is checked before anything is written;
//! - replacing or removing a user's bindings takes only the user out of a
//!   binding that also names other subjects (KubeSphere deletes the whole
//!   binding, and everyone else's role with it), and leaves the user with
//!   exactly one binding (KubeSphere stops at the first binding that
//!   already has the role);
//! - the member's templates are sorted by name (KubeSphere's order is a
//!   map's), and a workspace member's come from shared templates or the
//!   workspace's own roles only (see [`super::roles`]).
//!
//! The lists and gets read the bindings the authorizer last applied (they
//! follow the store within milliseconds); the writes and the template
//! routes read the store, so that a change follows the one before it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use http::Method;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use ks_kube_api::ApiError;
use ks_kube_api::error::GroupResource;
use ks_rbac::Policy;
use ks_types::meta::{USER_REFERENCE_LABEL, WORKSPACE_LABEL};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::roles::RoleScope;
use super::users::{groups_of, present, scoped_users, set_annotation};
use crate::kapis::tenant::names_subject;
use crate::kapis::{Kapis, bad_request, list_query, name_of, ok, status, success_body};

const IAM: &str = "iam.kubesphere.io";
const RBAC: &str = "rbac.authorization.k8s.io";
const USERS: GroupResource<'static> = GroupResource {
    group: IAM,
    resource: "users",
};

/// The user filters every member list takes besides the common ones and
/// its role filter.
pub const MEMBER_FILTERS: [&str; 3] = ["email", "ingroup", "notingroup"];

/// One member as the routes read and answer it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The user's name.
    #[serde(default)]
    pub username: String,
    /// The role of the scope to bind.
    #[serde(default)]
    pub role_ref: String,
}

/// Which members: of the cluster, a workspace or a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemberScope<'a> {
    Cluster,
    Workspace(&'a str),
    Namespace(&'a str),
}

impl<'a> MemberScope<'a> {
    fn roles(self) -> RoleScope<'a> {
        match self {
            MemberScope::Cluster => RoleScope::Cluster,
            MemberScope::Workspace(ws) => RoleScope::Workspace(ws),
            MemberScope::Namespace(ns) => RoleScope::Namespace(ns),
        }
    }

    /// The list filter that selects members by role (KubeSphere's user
    /// getter reads the same keys).
    fn role_filter(self) -> &'static str {
        match self {
            MemberScope::Cluster => "clusterrole",
            MemberScope::Workspace(_) => "workspacerole",
            MemberScope::Namespace(_) => "role",
        }
    }

    /// The scope filters of [`scoped_users`].
    fn user_filters(self, role: Option<&'a str>) -> BTreeMap<&'a str, &'a str> {
        let mut filters = BTreeMap::new();
        match self {
            MemberScope::Cluster => filters.insert("cluster", "true"),
            MemberScope::Workspace(ws) => filters.insert("workspace", ws),
            MemberScope::Namespace(ns) => filters.insert("namespace", ns),
        };
        if let Some(role) = role {
            filters.insert(self.role_filter(), role);
        }
        filters
    }

    /// `(group, version, plural)` of the scope's bindings.
    fn binding_resource(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MemberScope::Cluster => (RBAC, "v1", "clusterrolebindings"),
            MemberScope::Workspace(_) => (IAM, "v1alpha2", "workspacerolebindings"),
            MemberScope::Namespace(_) => (RBAC, "v1", "rolebindings"),
        }
    }

    fn bindings_path(self) -> String {
        let (group, version, plural) = self.binding_resource();
        match self {
            MemberScope::Namespace(ns) => {
                format!("/apis/{group}/{version}/namespaces/{ns}/{plural}")
            }
            _ => format!("/apis/{group}/{version}/{plural}"),
        }
    }

    /// The scope's bindings, as stored now.
    async fn bindings(self, kapis: &Kapis) -> Result<Vec<Value>, ApiError> {
        let (group, version, plural) = self.binding_resource();
        let namespace = match self {
            MemberScope::Namespace(ns) => Some(ns),
            _ => None,
        };
        let mut bindings = kapis
            .app
            .list_objects(group, version, plural, namespace)
            .await?;
        if let MemberScope::Workspace(ws) = self {
            bindings.retain(|b| {
                b.pointer("/metadata/labels")
                    .and_then(|l| l.get(WORKSPACE_LABEL))
                    .and_then(Value::as_str)
                    == Some(ws)
            });
        }
        bindings.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        Ok(bindings)
    }

    /// The binding `<user>-<role>` KubeSphere creates for a member.
    fn binding_for(self, user: &str, role: &str) -> Value {
        let roles = self.roles();
        let (group, version, _) = self.binding_resource();
        let kind = match self {
            MemberScope::Cluster => "ClusterRoleBinding",
            MemberScope::Workspace(_) => "WorkspaceRoleBinding",
            MemberScope::Namespace(_) => "RoleBinding",
        };
        let mut labels = json!({USER_REFERENCE_LABEL: user});
        let mut metadata = json!({"name": format!("{user}-{role}")});
        match self {
            MemberScope::Workspace(ws) => labels[WORKSPACE_LABEL] = Value::String(ws.to_owned()),
            MemberScope::Namespace(ns) => metadata["namespace"] = Value::String(ns.to_owned()),
            MemberScope::Cluster => {}
        }
        metadata["labels"] = labels;
        json!({
            "apiVersion": format!("{group}/{version}"),
            "kind": kind,
            "metadata": metadata,
            "roleRef": {"apiGroup": roles.group(), "kind": roles.kind(), "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}],
        })
    }
}

fn subjects(binding: &Value) -> &[Value] {
    binding
        .get("subjects")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn names_user(subject: &Value, user: &str) -> bool {
    subject.get("kind").and_then(Value::as_str) == Some("User")
        && subject.get("name").and_then(Value::as_str) == Some(user)
}

fn role_of(binding: &Value) -> &str {
    binding
        .pointer("/roleRef/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub(crate) fn routes() -> Router<Arc<Kapis>> {
    let v2 = "/kapis/iam.kubesphere.io/v1alpha2";
    let ws = format!("{v2}/workspaces/{{workspace}}/workspacemembers");
    let ns = format!("{v2}/namespaces/{{namespace}}/members");
    Router::new()
        .route(
            &format!("{v2}/clustermembers"),
            get(list_cluster).post(add_cluster),
        )
        .route(
            &format!("{v2}/clustermembers/{{member}}"),
            get(get_cluster).put(change_cluster).delete(remove_cluster),
        )
        .route(
            &format!("{v2}/clustermembers/{{member}}/clusterroles"),
            get(templates_cluster),
        )
        .route(&ws, get(list_workspace).post(add_workspace))
        .route(
            &format!("{ws}/{{member}}"),
            get(get_workspace)
                .put(change_workspace)
                .delete(remove_workspace),
        )
        .route(
            &format!("{ws}/{{member}}/workspaceroles"),
            get(templates_workspace),
        )
        .route(&ns, get(list_namespace).post(add_namespace))
        .route(
            &format!("{ns}/{{member}}"),
            get(get_namespace)
                .put(change_namespace)
                .delete(remove_namespace),
        )
        .route(&format!("{ns}/{{member}}/roles"), get(templates_namespace))
}

async fn list_cluster(State(kapis): State<Arc<Kapis>>, RawQuery(q): RawQuery) -> Response {
    list(&kapis, MemberScope::Cluster, q.as_deref()).await
}

async fn list_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    list(&kapis, MemberScope::Workspace(&ws), q.as_deref()).await
}

async fn list_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path(ns): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    list(&kapis, MemberScope::Namespace(&ns), q.as_deref()).await
}

async fn get_cluster(State(kapis): State<Arc<Kapis>>, Path(member): Path<String>) -> Response {
    describe(&kapis, MemberScope::Cluster, &member).await
}

async fn get_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, member)): Path<(String, String)>,
) -> Response {
    describe(&kapis, MemberScope::Workspace(&ws), &member).await
}

async fn get_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, member)): Path<(String, String)>,
) -> Response {
    describe(&kapis, MemberScope::Namespace(&ns), &member).await
}

async fn add_cluster(State(kapis): State<Arc<Kapis>>, body: Bytes) -> Response {
    add(&kapis, MemberScope::Cluster, &body).await
}

async fn add_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Response {
    add(&kapis, MemberScope::Workspace(&ws), &body).await
}

async fn add_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path(ns): Path<String>,
    body: Bytes,
) -> Response {
    add(&kapis, MemberScope::Namespace(&ns), &body).await
}

async fn change_cluster(
    State(kapis): State<Arc<Kapis>>,
    Path(member): Path<String>,
    body: Bytes,
) -> Response {
    change(&kapis, MemberScope::Cluster, &member, &body).await
}

async fn change_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, member)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    change(&kapis, MemberScope::Workspace(&ws), &member, &body).await
}

async fn change_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, member)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    change(&kapis, MemberScope::Namespace(&ns), &member, &body).await
}

async fn remove_cluster(State(kapis): State<Arc<Kapis>>, Path(member): Path<String>) -> Response {
    remove(&kapis, MemberScope::Cluster, &member).await
}

async fn remove_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, member)): Path<(String, String)>,
) -> Response {
    remove(&kapis, MemberScope::Workspace(&ws), &member).await
}

async fn remove_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, member)): Path<(String, String)>,
) -> Response {
    remove(&kapis, MemberScope::Namespace(&ns), &member).await
}

async fn templates_cluster(
    State(kapis): State<Arc<Kapis>>,
    Path(member): Path<String>,
) -> Response {
    templates(&kapis, MemberScope::Cluster, &member).await
}

async fn templates_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, member)): Path<(String, String)>,
) -> Response {
    templates(&kapis, MemberScope::Workspace(&ws), &member).await
}

async fn templates_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, member)): Path<(String, String)>,
) -> Response {
    templates(&kapis, MemberScope::Namespace(&ns), &member).await
}

/// The users of the scope with their role annotation, `names` only when
/// given.
async fn members(
    kapis: &Kapis,
    scope: MemberScope<'_>,
    role: Option<&str>,
    names: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let filters = scope.user_filters(role);
    let scoped = (kapis.security.rbac)
        .with_policy(|p| scoped_users(p, &filters))
        .unwrap_or_default();
    if scoped.is_empty() {
        return Ok(Vec::new());
    }
    let users = match names {
        Some(name) => (kapis
            .app
            .get_object(IAM, "v1alpha2", "users", "", name)
            .await?)
            .into_iter()
            .collect(),
        None => {
            kapis
                .app
                .list_objects(IAM, "v1alpha2", "users", None)
                .await?
        }
    };
    Ok(users
        .into_iter()
        .filter_map(|mut user| {
            let (annotation, role) = scoped.get(name_of(&user))?;
            let role = role.clone();
            set_annotation(&mut user, annotation, Some(&role));
            Some(user)
        })
        .collect())
}

async fn list(kapis: &Kapis, scope: MemberScope<'_>, raw_query: Option<&str>) -> Response {
    let mut accepted = vec![scope.role_filter()];
    accepted.extend(MEMBER_FILTERS);
    let query = match list_query(raw_query, &accepted) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let role = query
        .extra_filter(scope.role_filter())
        .filter(|r| !r.is_empty());
    let users = match members(kapis, scope, role, None).await {
        Ok(users) => users,
        Err(e) => return status(e),
    };
    let email = query.extra_filter("email");
    let in_group = query.extra_filter("ingroup");
    let not_in_group = query.extra_filter("notingroup");
    let listed = query.select(users, |user| {
        email.is_none_or(|e| user.pointer("/spec/email").and_then(Value::as_str) == Some(e))
            && in_group.is_none_or(|g| groups_of(user).contains(&g))
            && not_in_group.is_none_or(|g| !groups_of(user).contains(&g))
    });
    ok(&listed.map(|user| present(user, None)))
}

async fn describe(kapis: &Kapis, scope: MemberScope<'_>, member: &str) -> Response {
    match members(kapis, scope, None, Some(member)).await {
        Ok(users) => match users.into_iter().next() {
            Some(user) => ok(&present(user, None)),
            None => status(ApiError::not_found(USERS, member)),
        },
        Err(e) => status(e),
    }
}

/// Checks that `member` names a user and a role of the scope: the 400 or
/// 404 `Status` otherwise.
async fn check(kapis: &Kapis, scope: MemberScope<'_>, member: &Member) -> Result<(), Response> {
    if member.username.is_empty() {
        return Err(bad_request("username: Required value"));
    }
    if member.role_ref.is_empty() {
        return Err(bad_request(format!(
            "roleRef: Required value: the {} to bind {} to",
            scope.roles().kind(),
            member.username
        )));
    }
    match (kapis.app)
        .get_object(IAM, "v1alpha2", "users", "", &member.username)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return Err(status(ApiError::not_found(USERS, &member.username))),
        Err(e) => return Err(status(e)),
    }
    scope
        .roles()
        .existing(kapis, &member.role_ref)
        .await
        .map(|_| ())
}

/// Takes `user` out of `binding`: deletes it when the user is its only
/// subject, else removes the user from its subjects (conditional on its
/// resourceVersion).
async fn unbind(
    kapis: &Kapis,
    scope: MemberScope<'_>,
    binding: &Value,
    user: &str,
) -> Result<(), Response> {
    let path = format!("{}/{}", scope.bindings_path(), name_of(binding));
    let others: Vec<&Value> = (subjects(binding).iter())
        .filter(|s| !names_user(s, user))
        .collect();
    let response = if others.is_empty() {
        (kapis.internal)
            .forward(Method::DELETE, &path, "application/json", Bytes::new())
            .await
    } else {
        let patch = json!({
            "metadata": {"resourceVersion": binding.pointer("/metadata/resourceVersion")},
            "subjects": others,
        });
        (kapis.internal)
            .forward(
                Method::PATCH,
                &path,
                "application/merge-patch+json",
                Bytes::from(patch.to_string()),
            )
            .await
    };
    if response.status().is_success() || response.status() == http::StatusCode::NOT_FOUND {
        Ok(())
    } else {
        Err(response)
    }
}

/// Binds `user` to `role` in the scope, replacing the user's other
/// bindings there (KubeSphere's `Create*RoleBinding` of am.go).
async fn bind(
    kapis: &Kapis,
    scope: MemberScope<'_>,
    user: &str,
    role: &str,
) -> Result<(), Response> {
    let bindings = scope.bindings(kapis).await.map_err(status)?;
    let mut bound = false;
    for binding in bindings
        .iter()
        .filter(|b| subjects(b).iter().any(|s| names_user(s, user)))
    {
        if !bound && role_of(binding) == role {
            bound = true;
            continue;
        }
        unbind(kapis, scope, binding, user).await?;
    }
    if bound {
        return Ok(());
    }
    let binding = scope.binding_for(user, role);
    let response = (kapis.internal)
        .forward(
            Method::POST,
            &scope.bindings_path(),
            "application/json",
            Bytes::from(binding.to_string()),
        )
        .await;
    success_body(response).await.map(|_| ())
}

async fn add(kapis: &Kapis, scope: MemberScope<'_>, body: &[u8]) -> Response {
    let members: Vec<Member> = match serde_json::from_slice(body) {
        Ok(members) => members,
        Err(e) => {
            return bad_request(format!(
                "the body must be a JSON array of {{\"username\": ..., \"roleRef\": ...}}: {e}"
            ));
        }
    };
    for member in &members {
        if let Err(response) = check(kapis, scope, member).await {
            return response;
        }
    }
    for member in &members {
        if let Err(response) = bind(kapis, scope, &member.username, &member.role_ref).await {
            return response;
        }
    }
    in_force(kapis, "added", |p| {
        members
            .iter()
            .all(|m| is_bound(p, scope, &m.username, Some(&m.role_ref)))
    })
    .await;
    ok(&members)
}

/// How long a member write waits for the authorizer's policy to hold it.
const IN_FORCE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits until the authorizer's policy holds a member write (a few
/// milliseconds; at most [`IN_FORCE_WAIT`]), so that the console's next
/// request (it lists the members again at once) sees it, and a removed
/// member is refused as soon as the answer arrives.
async fn in_force(kapis: &Kapis, what: &str, holds: impl Fn(&Policy) -> bool) {
    if !(kapis.security.rbac).wait_until(IN_FORCE_WAIT, holds).await {
        tracing::warn!(
            "a member was {what}, but the authorizer's policy did not show it within {IN_FORCE_WAIT:?}"
        );
    }
}

/// Whether the policy binds `user` in `scope` (to `role`, when given).
fn is_bound(policy: &Policy, scope: MemberScope<'_>, user: &str, role: Option<&str>) -> bool {
    scoped_users(policy, &scope.user_filters(role)).is_some_and(|users| users.contains_key(user))
}

async fn change(kapis: &Kapis, scope: MemberScope<'_>, name: &str, body: &[u8]) -> Response {
    let member: Member = match serde_json::from_slice(body) {
        Ok(member) => member,
        Err(e) => {
            return bad_request(format!(
                "the body must be {{\"username\": ..., \"roleRef\": ...}}: {e}"
            ));
        }
    };
    if member.username != name {
        return bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            member.username
        ));
    }
    if let Err(response) = check(kapis, scope, &member).await {
        return response;
    }
    if let Err(response) = bind(kapis, scope, &member.username, &member.role_ref).await {
        return response;
    }
    in_force(kapis, "changed", |p| {
        is_bound(p, scope, &member.username, Some(&member.role_ref))
    })
    .await;
    ok(&member)
}

async fn remove(kapis: &Kapis, scope: MemberScope<'_>, member: &str) -> Response {
    let bindings = match scope.bindings(kapis).await {
        Ok(bindings) => bindings,
        Err(e) => return status(e),
    };
    for binding in bindings
        .iter()
        .filter(|b| subjects(b).iter().any(|s| names_user(s, member)))
    {
        if let Err(response) = unbind(kapis, scope, binding, member).await {
            return response;
        }
    }
    in_force(kapis, "removed", |p| !is_bound(p, scope, member, None)).await;
    ok(&json!({"message": "success"}))
}

/// The role templates of the member's roles in the scope, merged by name
/// and sorted; `[]` without a binding.
async fn templates(kapis: &Kapis, scope: MemberScope<'_>, member: &str) -> Response {
    // The cluster role is the user's own (KubeSphere's
    // `GetClusterRoleOfUser`: the first binding); a workspace or namespace
    // member's roles include its groups'.
    let groups: Vec<String> = match scope {
        MemberScope::Cluster => Vec::new(),
        _ => match (kapis.app)
            .get_object(IAM, "v1alpha2", "users", "", member)
            .await
        {
            Ok(Some(user)) => groups_of(&user).into_iter().map(str::to_owned).collect(),
            Ok(None) => return status(ApiError::not_found(USERS, member)),
            Err(e) => return status(e),
        },
    };
    // (binding, role) of each binding that names the member or a group.
    // (Kubernetes' bindings may omit `subjects`; KubeSphere's always hold it.)
    let names = |meta: &ObjectMeta, subjects: Option<&[Subject]>, role: &RoleRef| {
        names_subject(subjects.unwrap_or_default(), member, &groups)
            .then(|| (meta.name.clone().unwrap_or_default(), role.name.clone()))
    };
    let mut named: Vec<(String, String)> = match scope {
        // A namespace's bindings are one range of the store, a few objects
        // to decode; the policy would mean scanning every namespace's
        // RoleBindings (`cargo bench -p ks-apiserver --bench kapis --
        // member-roles`: 0.27 ms from the store, 0.48 ms from the policy).
        MemberScope::Namespace(_) => {
            let bindings = match scope.bindings(kapis).await {
                Ok(bindings) => bindings,
                Err(e) => return status(e),
            };
            (bindings.into_iter())
                .filter_map(|b| serde_json::from_value::<RoleBinding>(b).ok())
                .filter_map(|b| names(&b.metadata, b.subjects.as_deref(), &b.role_ref))
                .collect()
        }
        // The cluster's and a workspace's bindings are cluster-scoped, so
        // the store would decode all of them (5.2 ms for the cluster's
        // 1,000): read them from the authorizer's policy (the objects its
        // decisions use) instead (0.17 ms).
        MemberScope::Cluster => (kapis.security.rbac).with_policy(|p| {
            (p.cluster_role_bindings.iter())
                .filter_map(|b| names(&b.metadata, b.subjects.as_deref(), &b.role_ref))
                .collect()
        }),
        MemberScope::Workspace(ws) => (kapis.security.rbac).with_policy(|p| {
            (p.workspace_role_bindings.iter())
                .filter(|b| ks_types::meta::workspace_of(&b.metadata) == Some(ws))
                .filter_map(|b| names(&b.metadata, Some(&b.subjects), &b.role_ref))
                .collect()
        }),
    };
    // In binding name order, each role once.
    named.sort_unstable();
    let mut roles: Vec<String> = Vec::new();
    for (_, role) in named {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if scope == MemberScope::Cluster {
        roles.truncate(1);
    }
    let mut merged: BTreeMap<String, Value> = BTreeMap::new();
    for role in &roles {
        match scope.roles().templates_of(kapis, role).await {
            Ok(templates) => {
                for template in templates {
                    merged.insert(name_of(&template).to_owned(), template);
                }
            }
            Err(e) => return status(e),
        }
    }
    ok(&merged.into_values().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_named_and_labelled_as_kubesphere_names_them() {
        let b = MemberScope::Workspace("ws1").binding_for("alice", "ws1-admin");
        assert_eq!(b["kind"], "WorkspaceRoleBinding");
        assert_eq!(b["apiVersion"], "iam.kubesphere.io/v1alpha2");
        assert_eq!(b["metadata"]["name"], "alice-ws1-admin");
        assert_eq!(b["metadata"]["labels"][USER_REFERENCE_LABEL], "alice");
        assert_eq!(b["metadata"]["labels"][WORKSPACE_LABEL], "ws1");
        assert_eq!(
            b["roleRef"],
            json!({"apiGroup": "iam.kubesphere.io", "kind": "WorkspaceRole", "name": "ws1-admin"})
        );
        let b = MemberScope::Namespace("ns1").binding_for("bob", "admin");
        assert_eq!(b["kind"], "RoleBinding");
        assert_eq!(b["metadata"]["namespace"], "ns1");
        assert!(b["metadata"]["labels"].get(WORKSPACE_LABEL).is_none());
        assert_eq!(b["roleRef"]["kind"], "Role");
        let b = MemberScope::Cluster.binding_for("carol", "cluster-viewer");
        assert_eq!(b["kind"], "ClusterRoleBinding");
        assert_eq!(b["subjects"][0]["kind"], "User");
        assert_eq!(b["subjects"][0]["name"], "carol");
    }

    #[test]
    fn subjects_match_exactly() {
        let user = json!({"kind": "User", "name": "alice"});
        let group = json!({"kind": "Group", "name": "team"});
        assert!(names_user(&user, "alice"));
        assert!(!names_user(&user, "alice2"));
        assert!(!names_user(&group, "team"));
    }

    #[test]
    fn a_member_body_uses_kubesphere_field_names() {
        let member: Member = serde_json::from_str(r#"{"username":"alice","roleRef":"admin"}"#)
            .unwrap_or_else(|e| {
                panic!("{e}");
            });
        assert_eq!(member.role_ref, "admin");
        assert_eq!(
            serde_json::to_value(&member).ok(),
            Some(json!({"username": "alice", "roleRef": "admin"}))
        );
    }
}
