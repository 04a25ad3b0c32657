//! `iam.kubesphere.io/v1alpha2` groups of a workspace, the users in them
//! (group bindings), and the roles given to groups (workspace role
//! bindings, namespace role bindings).
//!
//! What KubeSphere 3.4 does (`pkg/kapis/iam/v1alpha2/handler.go`,
//! `pkg/models/iam/group/group.go`, `pkg/models/iam/am/am.go`,
//! `pkg/models/resources/v1alpha3/{group,groupbinding,
//! workspacerolebinding,rolebinding}`), and ks-rs with it:
//!
//! - `workspaces/{ws}/groups`: the Groups labelled `kubesphere.io/workspace:
//!   {ws}` (common query). A new group needs `metadata.generateName` (the
//!   console shows it as the group's name; 422 without it), unique among
//!   the workspace's groups (409), and gets the workspace label; an update
//!   or a patch keeps the label. A group of another workspace does not
//!   exist through this one (404);
//! - `workspaces/{ws}/groupbindings`: the workspace's GroupBindings (common
//!   query, and `user`: the binding lists that user). `POST` with
//!   `[{"userName", "groupName"}]` creates for each a GroupBinding with
//!   `generateName: <group>-<user>-`, labels `iam.kubesphere.io/user-ref`,
//!   `iam.kubesphere.io/group-ref` and `kubesphere.io/workspace`, and
//!   answers the created bindings. `DELETE .../{name}` removes one;
//! - `workspaces/{ws}/workspacerolebindings`: the workspace's
//!   WorkspaceRoleBindings (common query, and `rolename`: the role they
//!   bind). `POST` with an array of bindings creates each with
//!   `generateName: <first subject>-<role>-`, the workspace label and
//!   `iam.kubesphere.io/group-ref` (or `user-ref`) naming the first
//!   subject, and answers the created bindings; the role must be a
//!   workspace role of the workspace (404). `DELETE .../{name}`;
//! - `namespaces/{ns}/rolebindings`: the same for RoleBindings of the
//!   namespace, whose role must be a Role there; `workspaces/{ws}/
//!   rolebindings` answers the RoleBindings of every namespace of the
//!   workspace, as an array (KubeSphere's shape), after the common query.
//!
//! Where ks-rs differs, deliberately:
//!
//! - a group binding's group must be a group of the workspace and its
//!   user a user (404 otherwise; KubeSphere writes any names, which lets a
//!   workspace's manager put users into another workspace's groups);
//! - deleting a workspace role binding or a group binding of another
//!   workspace is a 404 (KubeSphere deletes any by name);
//! - a binding's `roleRef` may only name the kind the route binds
//!   (`WorkspaceRole`, `Role`), and needs a subject (400); KubeSphere
//!   checks only that a role of that name exists, so a RoleBinding could
//!   name a ClusterRole that happens to share a Role's name;
//! - every item of a `POST` is checked before anything is written;
//! - `workspaces/{ws}/rolebindings` pages the union of the namespaces'
//!   bindings, not each namespace's separately.
//!
//! Left to the controllers (`ks-controller-manager`'s `groupbinding` and
//! `group`): adding a group binding's group to the user's `spec.groups`,
//! and cleaning a deleted group's bindings.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{delete, get};
use http::{HeaderMap, Method, header};
use ks_kube_api::ApiError;
use ks_kube_api::error::{Cause, GroupResource};
use ks_types::meta::{GROUP_REFERENCE_LABEL, USER_REFERENCE_LABEL, WORKSPACE_LABEL};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::roles::RoleScope;
use crate::kapis::{
    Kapis, bad_request, json_object, list_query, name_of, ok, status, success_body,
};

const IAM: &str = "iam.kubesphere.io";
const RBAC: &str = "rbac.authorization.k8s.io";
const GROUPS: GroupResource<'static> = GroupResource {
    group: IAM,
    resource: "groups",
};
const GROUP_BINDINGS: GroupResource<'static> = GroupResource {
    group: IAM,
    resource: "groupbindings",
};
const WORKSPACE_ROLE_BINDINGS: GroupResource<'static> = GroupResource {
    group: IAM,
    resource: "workspacerolebindings",
};
const USERS: GroupResource<'static> = GroupResource {
    group: IAM,
    resource: "users",
};
const GROUPS_PATH: &str = "/apis/iam.kubesphere.io/v1alpha2/groups";
const GROUP_BINDINGS_PATH: &str = "/apis/iam.kubesphere.io/v1alpha2/groupbindings";
const WORKSPACE_ROLE_BINDINGS_PATH: &str = "/apis/iam.kubesphere.io/v1alpha2/workspacerolebindings";

/// One user to put into a group (`POST workspaces/{ws}/groupbindings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// The user.
    #[serde(default)]
    pub user_name: String,
    /// The group of the workspace.
    #[serde(default)]
    pub group_name: String,
}

pub(crate) fn routes() -> Router<Arc<Kapis>> {
    let v2 = "/kapis/iam.kubesphere.io/v1alpha2";
    let ws = format!("{v2}/workspaces/{{workspace}}");
    let ns = format!("{v2}/namespaces/{{namespace}}");
    Router::new()
        .route(&format!("{ws}/groups"), get(list_groups).post(create_group))
        .route(
            &format!("{ws}/groups/{{name}}"),
            get(get_group)
                .put(update_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route(
            &format!("{ws}/groupbindings"),
            get(list_group_bindings).post(create_group_bindings),
        )
        .route(
            &format!("{ws}/groupbindings/{{name}}"),
            delete(delete_group_binding),
        )
        .route(
            &format!("{ws}/workspacerolebindings"),
            get(list_workspace_role_bindings).post(create_workspace_role_bindings),
        )
        .route(
            &format!("{ws}/workspacerolebindings/{{name}}"),
            delete(delete_workspace_role_binding),
        )
        .route(
            &format!("{ws}/rolebindings"),
            get(list_workspace_namespace_role_bindings),
        )
        .route(
            &format!("{ns}/rolebindings"),
            get(list_role_bindings).post(create_role_bindings),
        )
        .route(
            &format!("{ns}/rolebindings/{{name}}"),
            delete(delete_role_binding),
        )
}

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(key))
        .and_then(Value::as_str)
}

fn in_workspace(object: &Value, workspace: &str) -> bool {
    label(object, WORKSPACE_LABEL) == Some(workspace)
}

/// The object's `metadata` map, made when absent or not a map.
fn metadata_mut(object: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let meta = object
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut()
}

/// Sets `metadata.{field}[key]` (or `metadata.{field}` with no key),
/// making the maps it needs.
fn set_meta(object: &mut Value, field: &str, key: Option<&str>, value: &str) {
    let Some(meta) = metadata_mut(object) else {
        return;
    };
    let Some(key) = key else {
        meta.insert(field.to_owned(), Value::String(value.to_owned()));
        return;
    };
    let map = meta.entry(field).or_insert_with(|| json!({}));
    if !map.is_object() {
        *map = json!({});
    }
    if let Some(map) = map.as_object_mut() {
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

/// Sets `metadata.labels[key]`.
fn set_label(object: &mut Value, key: &str, value: &str) {
    set_meta(object, "labels", Some(key), value);
}

/// The merge patch routes take (as the role routes).
fn merge_patch_only(headers: &HeaderMap) -> Result<(), Response> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("application/merge-patch+json");
    match media {
        "application/merge-patch+json" | "application/json" => Ok(()),
        _ => Err(status(ApiError::unsupported_media_type(format!(
            "a patch here is a JSON merge patch (application/merge-patch+json), not {media:?}"
        )))),
    }
}

/// Deletes `name` (at `base/name`) when it belongs to workspace `ws`.
async fn delete_in_workspace(
    kapis: &Kapis,
    resource: GroupResource<'static>,
    base: &str,
    ws: &str,
    name: &str,
) -> Response {
    if let Err(response) = of_workspace(kapis, resource, ws, name).await {
        return response;
    }
    let path = format!("{base}/{name}");
    deleted(
        (kapis.internal)
            .forward(Method::DELETE, &path, "application/json", Bytes::new())
            .await,
    )
    .await
}

/// The answer to a delete the embedded API made.
async fn deleted(response: Response) -> Response {
    match success_body(response).await {
        Ok(_) => ok(&json!({"message": "success"})),
        Err(response) => response,
    }
}

async fn list_of(
    kapis: &Kapis,
    (group, version, plural): (&str, &str, &str),
    namespace: Option<&str>,
) -> Result<Vec<Value>, Response> {
    (kapis.app)
        .list_objects(group, version, plural, namespace)
        .await
        .map_err(status)
}

/// The object `name` of a workspace-labelled kind when it belongs to
/// `workspace`; a 404 otherwise.
async fn of_workspace(
    kapis: &Kapis,
    resource: GroupResource<'static>,
    workspace: &str,
    name: &str,
) -> Result<Value, Response> {
    match (kapis.app)
        .get_object(resource.group, "v1alpha2", resource.resource, "", name)
        .await
    {
        Ok(Some(object)) if in_workspace(&object, workspace) => Ok(object),
        Ok(_) => Err(status(ApiError::not_found(resource, name))),
        Err(e) => Err(status(e)),
    }
}

async fn list_groups(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = match list_query(q.as_deref(), &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    match list_of(&kapis, (IAM, "v1alpha2", "groups"), None).await {
        Ok(groups) => ok(&query.select(groups, |g| in_workspace(g, &ws))),
        Err(response) => response,
    }
}

async fn get_group(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
) -> Response {
    match of_workspace(&kapis, GROUPS, &ws, &name).await {
        Ok(group) => ok(&group),
        Err(response) => response,
    }
}

async fn create_group(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Response {
    let mut group = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let generate_name = group
        .pointer("/metadata/generateName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if generate_name.is_empty() {
        return status(ApiError::invalid(
            GROUPS,
            "Group",
            name_of(&group),
            vec![Cause {
                reason: "FieldValueRequired".to_owned(),
                message: "Required value: generateName is required (it is the group's \
                          name as the console shows it)"
                    .to_owned(),
                field: "metadata.generateName".to_owned(),
            }],
        ));
    }
    let groups = match list_of(&kapis, (IAM, "v1alpha2", "groups"), None).await {
        Ok(groups) => groups,
        Err(response) => return response,
    };
    let taken = groups.iter().any(|g| {
        in_workspace(g, &ws)
            && g.pointer("/metadata/generateName").and_then(Value::as_str)
                == Some(generate_name.as_str())
    });
    if taken {
        return status(ApiError::conflict(
            GROUPS,
            &generate_name,
            &format!("a group named {generate_name} already exists in the workspace"),
        ));
    }
    set_label(&mut group, WORKSPACE_LABEL, &ws);
    (kapis.internal)
        .forward(
            Method::POST,
            GROUPS_PATH,
            "application/json",
            Bytes::from(group.to_string()),
        )
        .await
}

async fn update_group(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let mut group = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if name_of(&group) != name {
        return bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            name_of(&group)
        ));
    }
    if let Err(response) = of_workspace(&kapis, GROUPS, &ws, &name).await {
        return response;
    }
    set_label(&mut group, WORKSPACE_LABEL, &ws);
    (kapis.internal)
        .forward(
            Method::PUT,
            &format!("{GROUPS_PATH}/{name}"),
            "application/json",
            Bytes::from(group.to_string()),
        )
        .await
}

async fn patch_group(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = merge_patch_only(&headers) {
        return response;
    }
    let mut patch = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if let Err(response) = of_workspace(&kapis, GROUPS, &ws, &name).await {
        return response;
    }
    if patch.pointer("/metadata/labels").is_some() {
        // Whatever the patch does to the labels, the group stays here.
        set_label(&mut patch, WORKSPACE_LABEL, &ws);
    }
    (kapis.internal)
        .forward(
            Method::PATCH,
            &format!("{GROUPS_PATH}/{name}"),
            "application/merge-patch+json",
            Bytes::from(patch.to_string()),
        )
        .await
}

async fn delete_group(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
) -> Response {
    delete_in_workspace(&kapis, GROUPS, GROUPS_PATH, &ws, &name).await
}

async fn list_group_bindings(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = match list_query(q.as_deref(), &["user"]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let user = query.extra_filter("user");
    match list_of(&kapis, (IAM, "v1alpha2", "groupbindings"), None).await {
        Ok(bindings) => ok(&query.select(bindings, |b| {
            in_workspace(b, &ws)
                && user.is_none_or(|u| {
                    (b.get("users").and_then(Value::as_array))
                        .is_some_and(|users| users.iter().any(|x| x.as_str() == Some(u)))
                })
        })),
        Err(response) => response,
    }
}

/// Creates each prepared object at `path`, answering the created objects;
/// the first failure is the answer.
async fn create_all(kapis: &Kapis, path: &str, objects: Vec<Value>) -> Response {
    let mut created = Vec::with_capacity(objects.len());
    for object in objects {
        let response = (kapis.internal)
            .forward(
                Method::POST,
                path,
                "application/json",
                Bytes::from(object.to_string()),
            )
            .await;
        match success_body(response).await {
            Ok(object) => created.push(object),
            Err(response) => return response,
        }
    }
    ok(&created)
}

async fn create_group_bindings(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Response {
    let members: Vec<GroupMember> = match serde_json::from_slice(&body) {
        Ok(members) => members,
        Err(e) => {
            return bad_request(format!(
                "the body must be a JSON array of {{\"userName\": ..., \"groupName\": ...}}: {e}"
            ));
        }
    };
    let mut bindings = Vec::with_capacity(members.len());
    for member in &members {
        if member.user_name.is_empty() || member.group_name.is_empty() {
            return bad_request("userName and groupName: Required value");
        }
        if let Err(response) = of_workspace(&kapis, GROUPS, &ws, &member.group_name).await {
            return response;
        }
        match (kapis.app)
            .get_object(IAM, "v1alpha2", "users", "", &member.user_name)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return status(ApiError::not_found(USERS, &member.user_name)),
            Err(e) => return status(e),
        }
        let (user, group) = (&member.user_name, &member.group_name);
        bindings.push(json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2",
            "kind": "GroupBinding",
            "metadata": {
                "generateName": format!("{group}-{user}-"),
                "labels": {
                    USER_REFERENCE_LABEL: user,
                    GROUP_REFERENCE_LABEL: group,
                    WORKSPACE_LABEL: ws,
                },
            },
            "groupRef": {"apiGroup": IAM, "kind": "Group", "name": group},
            "users": [user],
        }));
    }
    create_all(&kapis, GROUP_BINDINGS_PATH, bindings).await
}

async fn delete_group_binding(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
) -> Response {
    delete_in_workspace(&kapis, GROUP_BINDINGS, GROUP_BINDINGS_PATH, &ws, &name).await
}

fn role_name_of(binding: &Value) -> &str {
    binding
        .pointer("/roleRef/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

async fn list_workspace_role_bindings(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = match list_query(q.as_deref(), &["rolename"]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let role = query.extra_filter("rolename");
    match list_of(&kapis, (IAM, "v1alpha2", "workspacerolebindings"), None).await {
        Ok(bindings) => ok(&query.select(bindings, |b| {
            in_workspace(b, &ws) && role.is_none_or(|r| role_name_of(b) == r)
        })),
        Err(response) => response,
    }
}

/// Checks a binding to give a role of `scope` and prepares it as
/// KubeSphere's `CreateWorkspaceRoleBinding` / `CreateRoleBinding` do:
/// `generateName: <first subject>-<role>-` and the reference label of
/// the first subject.
async fn prepare_binding(
    kapis: &Kapis,
    scope: RoleScope<'_>,
    mut binding: Value,
) -> Result<Value, Response> {
    if !binding.is_object() {
        return Err(bad_request("each binding must be a JSON object"));
    }
    let role = role_name_of(&binding).to_owned();
    if role.is_empty() {
        return Err(bad_request("roleRef.name: Required value"));
    }
    let kind = binding.pointer("/roleRef/kind").and_then(Value::as_str);
    if kind.is_some_and(|k| !k.is_empty() && k != scope.kind()) {
        return Err(bad_request(format!(
            "roleRef.kind: Unsupported value: {:?}: supported values: {:?}",
            kind.unwrap_or(""),
            scope.kind()
        )));
    }
    scope.existing(kapis, &role).await?;
    binding["roleRef"] = json!({"apiGroup": scope.group(), "kind": scope.kind(), "name": role});
    let first = binding
        .get("subjects")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .cloned();
    let Some(first) = first else {
        return Err(bad_request(
            "subjects: Required value: the group (or user) to give the role to",
        ));
    };
    let subject = first.get("name").and_then(Value::as_str).unwrap_or("");
    if subject.is_empty() {
        return Err(bad_request("subjects[0].name: Required value"));
    }
    set_meta(
        &mut binding,
        "generateName",
        None,
        &format!("{subject}-{role}-"),
    );
    match first.get("kind").and_then(Value::as_str) {
        Some("Group") => set_label(&mut binding, GROUP_REFERENCE_LABEL, subject),
        Some("User") => set_label(&mut binding, USER_REFERENCE_LABEL, subject),
        _ => {}
    }
    match scope {
        RoleScope::Workspace(ws) => set_label(&mut binding, WORKSPACE_LABEL, ws),
        RoleScope::Namespace(ns) => set_meta(&mut binding, "namespace", None, ns),
        RoleScope::Global | RoleScope::Cluster => {}
    }
    Ok(binding)
}

async fn prepare_all(
    kapis: &Kapis,
    scope: RoleScope<'_>,
    body: &[u8],
) -> Result<Vec<Value>, Response> {
    let bindings: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "the body must be a JSON array of {}Bindings: {e}",
            scope.kind()
        ))
    })?;
    let mut prepared = Vec::with_capacity(bindings.len());
    for binding in bindings {
        prepared.push(prepare_binding(kapis, scope, binding).await?);
    }
    Ok(prepared)
}

async fn create_workspace_role_bindings(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Response {
    match prepare_all(&kapis, RoleScope::Workspace(&ws), &body).await {
        Ok(bindings) => create_all(&kapis, WORKSPACE_ROLE_BINDINGS_PATH, bindings).await,
        Err(response) => response,
    }
}

async fn delete_workspace_role_binding(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
) -> Response {
    delete_in_workspace(
        &kapis,
        WORKSPACE_ROLE_BINDINGS,
        WORKSPACE_ROLE_BINDINGS_PATH,
        &ws,
        &name,
    )
    .await
}

fn role_bindings_path(namespace: &str) -> String {
    format!("/apis/{RBAC}/v1/namespaces/{namespace}/rolebindings")
}

async fn list_role_bindings(
    State(kapis): State<Arc<Kapis>>,
    Path(ns): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = match list_query(q.as_deref(), &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    match list_of(&kapis, (RBAC, "v1", "rolebindings"), Some(&ns)).await {
        Ok(bindings) => ok(&query.select(bindings, |_| true)),
        Err(response) => response,
    }
}

async fn list_workspace_namespace_role_bindings(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = match list_query(q.as_deref(), &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let namespaces = match list_of(&kapis, ("", "v1", "namespaces"), None).await {
        Ok(namespaces) => namespaces,
        Err(response) => return response,
    };
    let mut bindings = Vec::new();
    for namespace in namespaces.iter().filter(|n| in_workspace(n, &ws)) {
        match list_of(
            &kapis,
            (RBAC, "v1", "rolebindings"),
            Some(name_of(namespace)),
        )
        .await
        {
            Ok(found) => bindings.extend(found),
            Err(response) => return response,
        }
    }
    ok(&query.select(bindings, |_| true).items)
}

async fn create_role_bindings(
    State(kapis): State<Arc<Kapis>>,
    Path(ns): Path<String>,
    body: Bytes,
) -> Response {
    match prepare_all(&kapis, RoleScope::Namespace(&ns), &body).await {
        Ok(bindings) => create_all(&kapis, &role_bindings_path(&ns), bindings).await,
        Err(response) => response,
    }
}

async fn delete_role_binding(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    let path = format!("{}/{name}", role_bindings_path(&ns));
    deleted(
        (kapis.internal)
            .forward(Method::DELETE, &path, "application/json", Bytes::new())
            .await,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_set_whatever_the_metadata_was() {
        for mut object in [
            json!({}),
            json!({"metadata": null}),
            json!({"metadata": {"labels": null}}),
            json!({"metadata": {"labels": {"a": "b"}}}),
        ] {
            set_label(&mut object, WORKSPACE_LABEL, "ws1");
            assert!(in_workspace(&object, "ws1"), "{object}");
            assert!(!in_workspace(&object, "ws2"), "{object}");
        }
    }

    #[test]
    fn only_merge_patches_are_taken() {
        let with = |t: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_str(t).unwrap_or_else(|e| panic!("{e}")),
            );
            h
        };
        assert!(merge_patch_only(&HeaderMap::new()).is_ok());
        assert!(merge_patch_only(&with("application/merge-patch+json; charset=utf-8")).is_ok());
        assert!(merge_patch_only(&with("application/json-patch+json")).is_err());
    }
}
