//! `iam.kubesphere.io/v1alpha2` users: list, get, create, update, delete,
//! the password, login records and the user's global role templates.
//!
//! What KubeSphere 3.4 does, and ks-rs with it:
//!
//! - a user is never returned with `spec.password` (the bcrypt hash);
//! - every user returned carries `iam.kubesphere.io/globalrole`, the role
//!   of its GlobalRoleBinding (the first by name when there are several),
//!   and none when it has no binding: the annotation is computed, never
//!   read from the stored object;
//! - on create and update, that annotation names the global role to bind:
//!   the binding `<user>-<role>` (label `iam.kubesphere.io/user-ref`)
//!   replaces the user's other GlobalRoleBindings. Changing it on update
//!   needs `update users` at the global scope, as in KubeSphere;
//! - an update cannot change the password (use `PUT .../password`) and
//!   cannot set a state other than `Active` or `Disabled`; a user who may
//!   not `update users` globally, and updates their own User through the
//!   built-in self-service grant, changes only the profile (`email`,
//!   `lang`, `description`, `displayName`), never `spec.groups`, labels or
//!   the state (KubeSphere 3.4 takes the whole object, so a user could join
//!   any group and gain its roles);
//! - `PUT users/{user}/password` with `{"currentPassword", "password"}`:
//!   the current password must be right unless the caller may
//!   `update users/password` at the global scope and sends none; the new
//!   one is hashed by admission, which also revokes the user's tokens.
//!
//! The list filters besides the common ones: `email` (exact), `ingroup`,
//! `notingroup` (the user's `spec.groups`), and the scopes, of which the
//! first given applies: `namespace` (+ `role`: the users a RoleBinding of
//! the namespace names, annotated `iam.kubesphere.io/role`), `workspace`
//! (+ `workspacerole`, annotated `iam.kubesphere.io/workspacerole`),
//! `cluster=true` (+ `clusterrole`, annotated `iam.kubesphere.io/clusterrole`)
//! and `globalrole`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, put};
use http::Method;
use k8s_openapi::api::rbac::v1::Subject;
use ks_kube_api::error::GroupResource;
use ks_kube_api::{ApiError, UserInfo};
use ks_rbac::{Attributes, Policy};
use ks_request_info::ResourceScope;
use ks_types::meta::{
    AGGREGATION_ROLES_ANNOTATION, CLUSTER_ROLE_ANNOTATION, GLOBAL_ROLE_ANNOTATION, ROLE_ANNOTATION,
    USER_REFERENCE_LABEL, WORKSPACE_ROLE_ANNOTATION,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::kapis::catalog::Entry;
use crate::kapis::query::ObjectView;
use crate::kapis::{
    Kapis, bad_request, json_object, list_query, listed, name_of, ok, status, success_body,
};

const IAM: &str = "iam.kubesphere.io";
const USERS: GroupResource<'static> = GroupResource {
    group: IAM,
    resource: "users",
};
const USERS_PATH: &str = "/apis/iam.kubesphere.io/v1alpha2/users";
const GLOBAL_ROLE_BINDINGS_PATH: &str = "/apis/iam.kubesphere.io/v1alpha2/globalrolebindings";

/// The list filters of `users` besides the common ones.
pub const USER_FILTERS: [&str; 10] = [
    "email",
    "ingroup",
    "notingroup",
    "namespace",
    "role",
    "workspace",
    "workspacerole",
    "cluster",
    "clusterrole",
    "globalrole",
];

pub(crate) fn routes() -> Router<Arc<Kapis>> {
    let v2 = "/kapis/iam.kubesphere.io/v1alpha2";
    Router::new()
        .route(&format!("{v2}/users"), get(list_users).post(create_user))
        .route(
            &format!("{v2}/users/{{user}}"),
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(
            &format!("{v2}/users/{{user}}/password"),
            put(modify_password),
        )
        .route(
            &format!("{v2}/users/{{user}}/loginrecords"),
            get(login_records),
        )
        .route(
            &format!("{v2}/users/{{user}}/globalroles"),
            get(global_role_templates),
        )
}

/// Whether `subject` is the user `name`.
fn is_user(subject: &Subject, name: &str) -> bool {
    subject.kind == "User" && subject.name == name
}

/// Each user's global role: the role of its GlobalRoleBinding, the first
/// by binding name when there are several.
fn global_roles(policy: &Policy) -> BTreeMap<String, String> {
    let mut bindings: Vec<_> = policy.global_role_bindings.iter().collect();
    bindings.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut roles = BTreeMap::new();
    for binding in bindings {
        for subject in binding.subjects.iter().filter(|s| s.kind == "User") {
            roles
                .entry(subject.name.clone())
                .or_insert_with(|| binding.role_ref.name.clone());
        }
    }
    roles
}

/// The global role of one user.
fn global_role_of(kapis: &Kapis, user: &str) -> Option<String> {
    (kapis.security.rbac).with_policy(|p| global_roles(p).remove(user))
}

/// A user as /kapis returns it: no password hash, the computed global
/// role annotation.
pub(crate) fn present(mut user: Value, global_role: Option<&str>) -> Value {
    if let Some(spec) = user.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("password");
    }
    set_annotation(&mut user, GLOBAL_ROLE_ANNOTATION, global_role);
    user
}

/// Sets (or, with `None`, removes) one annotation.
pub(crate) fn set_annotation(object: &mut Value, key: &str, value: Option<&str>) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    match value {
        Some(value) => {
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            if !annotations.is_object() {
                *annotations = json!({});
            }
            if let Some(map) = annotations.as_object_mut() {
                map.insert(key.to_owned(), Value::String(value.to_owned()));
            }
        }
        None => {
            if let Some(map) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                map.remove(key);
            }
        }
    }
}

/// Removes and returns one annotation.
fn take_annotation(object: &mut Value, key: &str) -> Option<String> {
    let map = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)?;
    match map.remove(key)? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

pub(crate) fn groups_of(user: &Value) -> Vec<&str> {
    (user.pointer("/spec/groups").and_then(Value::as_array))
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The users a scope filter selects, with the annotation naming their role
/// there; `None` when no scope filter is given.
pub(crate) fn scoped_users(
    policy: &Policy,
    filters: &BTreeMap<&str, &str>,
) -> Option<BTreeMap<String, (&'static str, String)>> {
    let mut out: BTreeMap<String, (&'static str, String)> = BTreeMap::new();
    let mut add = |subjects: &[Subject], annotation: &'static str, role: &str| {
        for s in subjects.iter().filter(|s| s.kind == "User") {
            out.entry(s.name.clone())
                .or_insert_with(|| (annotation, role.to_owned()));
        }
    };
    let wanted = |want: Option<&&str>, role: &str| want.is_none_or(|w| *w == role);
    if let Some(namespace) = filters.get("namespace") {
        let role = filters.get("role");
        for b in &policy.role_bindings {
            if b.metadata.namespace.as_deref() == Some(namespace) && wanted(role, &b.role_ref.name)
            {
                add(
                    b.subjects.as_deref().unwrap_or_default(),
                    ROLE_ANNOTATION,
                    &b.role_ref.name,
                );
            }
        }
    } else if let Some(workspace) = filters.get("workspace") {
        let role = filters.get("workspacerole");
        for b in &policy.workspace_role_bindings {
            if ks_types::meta::workspace_of(&b.metadata) == Some(workspace)
                && wanted(role, &b.role_ref.name)
            {
                add(&b.subjects, WORKSPACE_ROLE_ANNOTATION, &b.role_ref.name);
            }
        }
    } else if filters.get("cluster") == Some(&"true") {
        let role = filters.get("clusterrole");
        for b in &policy.cluster_role_bindings {
            if wanted(role, &b.role_ref.name) {
                add(
                    b.subjects.as_deref().unwrap_or_default(),
                    CLUSTER_ROLE_ANNOTATION,
                    &b.role_ref.name,
                );
            }
        }
    } else if let Some(role) = filters.get("globalrole") {
        for b in &policy.global_role_bindings {
            if b.role_ref.name == *role {
                add(&b.subjects, GLOBAL_ROLE_ANNOTATION, &b.role_ref.name);
            }
        }
    } else {
        return None;
    }
    Some(out)
}

async fn list_users(State(kapis): State<Arc<Kapis>>, RawQuery(raw): RawQuery) -> Response {
    let query = match list_query(raw.as_deref(), &USER_FILTERS) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let filters: BTreeMap<&str, &str> = query.extra_filters().collect();
    let (roles, scoped) = kapis
        .security
        .rbac
        .with_policy(|p| (global_roles(p), scoped_users(p, &filters)));
    let email = filters.get("email").copied();
    let in_group = filters.get("ingroup").copied();
    let not_in_group = filters.get("notingroup").copied();
    let reads_spec = email.is_some() || in_group.is_some() || not_in_group.is_some();
    let keep = |entry: &&Entry| {
        if let Some(scoped) = &scoped
            && !scoped.contains_key(entry.name())
        {
            return false;
        }
        if !reads_spec {
            return true;
        }
        let user = entry.decode();
        email.is_none_or(|e| user.pointer("/spec/email").and_then(Value::as_str) == Some(e))
            && in_group.is_none_or(|g| groups_of(&user).contains(&g))
            && not_in_group.is_none_or(|g| !groups_of(&user).contains(&g))
    };
    let render = |entry: &Entry| {
        let mut user = entry.decode();
        // A scope's role annotation, as KubeSphere adds it.
        if let Some((annotation, role)) = scoped.as_ref().and_then(|s| s.get(entry.name()))
            && *annotation != GLOBAL_ROLE_ANNOTATION
        {
            set_annotation(&mut user, annotation, Some(role));
        }
        let role = roles.get(entry.name()).map(String::as_str);
        serde_json::to_vec(&present(user, role)).unwrap_or_default()
    };
    listed(
        kapis
            .page(
                (IAM, "v1alpha2", "users"),
                None,
                &query,
                keep,
                Some(&render),
            )
            .await,
    )
}

async fn get_user(State(kapis): State<Arc<Kapis>>, Path(name): Path<String>) -> Response {
    match kapis
        .app
        .get_object(IAM, "v1alpha2", "users", "", &name)
        .await
    {
        Ok(Some(user)) => {
            let role = global_role_of(&kapis, &name);
            ok(&present(user, role.as_deref()))
        }
        Ok(None) => status(ApiError::not_found(USERS, &name)),
        Err(e) => status(e),
    }
}

/// Binds `user` to the global role `role` with `<user>-<role>`, replacing
/// the user's other GlobalRoleBindings (none is touched when that
/// binding already exists).
async fn bind_global_role(kapis: &Kapis, user: &str, role: &str) -> Result<(), Response> {
    match kapis
        .app
        .get_object(IAM, "v1alpha2", "globalroles", "", role)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(status(ApiError::not_found(
                GroupResource {
                    group: IAM,
                    resource: "globalroles",
                },
                role,
            )));
        }
        Err(e) => return Err(status(e)),
    }
    let existing: Vec<(String, String)> = kapis.security.rbac.with_policy(|p| {
        (p.global_role_bindings.iter())
            .filter(|b| b.subjects.iter().any(|s| is_user(s, user)))
            .map(|b| {
                (
                    b.metadata.name.clone().unwrap_or_default(),
                    b.role_ref.name.clone(),
                )
            })
            .collect()
    });
    for (name, bound) in &existing {
        if bound == role {
            continue;
        }
        let path = format!("{GLOBAL_ROLE_BINDINGS_PATH}/{name}");
        let response = (kapis.internal)
            .forward(Method::DELETE, &path, "application/json", Bytes::new())
            .await;
        if !response.status().is_success() && response.status() != http::StatusCode::NOT_FOUND {
            return Err(response);
        }
    }
    if existing.iter().any(|(_, r)| r == role) {
        return Ok(());
    }
    let binding = json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2",
        "kind": "GlobalRoleBinding",
        "metadata": {"name": format!("{user}-{role}"), "labels": {USER_REFERENCE_LABEL: user}},
        "roleRef": {"apiGroup": IAM, "kind": "GlobalRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    });
    let response = (kapis.internal)
        .forward(
            Method::POST,
            GLOBAL_ROLE_BINDINGS_PATH,
            "application/json",
            Bytes::from(binding.to_string()),
        )
        .await;
    if response.status().is_success() || response.status() == http::StatusCode::CONFLICT {
        Ok(())
    } else {
        Err(response)
    }
}

async fn create_user(State(kapis): State<Arc<Kapis>>, body: Bytes) -> Response {
    let mut user = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let role = take_annotation(&mut user, GLOBAL_ROLE_ANNOTATION);
    if let Some(role) = &role {
        match kapis
            .app
            .get_object(IAM, "v1alpha2", "globalroles", "", role)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => {
                return status(ApiError::not_found(
                    GroupResource {
                        group: IAM,
                        resource: "globalroles",
                    },
                    role,
                ));
            }
            Err(e) => return status(e),
        }
    }
    let response = (kapis.internal)
        .forward(
            Method::POST,
            USERS_PATH,
            "application/json",
            Bytes::from(user.to_string()),
        )
        .await;
    let created = match success_body(response).await {
        Ok(created) => created,
        Err(response) => return response,
    };
    let name = name_of(&created).to_owned();
    if let Some(role) = &role
        && let Err(response) = bind_global_role(&kapis, &name, role).await
    {
        return response;
    }
    http_created(&present(created, role.as_deref()))
}

fn http_created(body: &Value) -> Response {
    let mut response = ok(body);
    *response.status_mut() = http::StatusCode::CREATED;
    response
}

async fn update_user(
    State(kapis): State<Arc<Kapis>>,
    Extension(caller): Extension<UserInfo>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let mut user = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if name_of(&user) != name {
        return bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            name_of(&user)
        ));
    }
    let current = match kapis
        .app
        .get_object(IAM, "v1alpha2", "users", "", &name)
        .await
    {
        Ok(Some(current)) => current,
        Ok(None) => return status(ApiError::not_found(USERS, &name)),
        Err(e) => return status(e),
    };
    if let Some(state) = user.pointer("/status/state").and_then(Value::as_str)
        && state != "Active"
        && state != "Disabled"
        && Some(state) != current.pointer("/status/state").and_then(Value::as_str)
    {
        return bad_request(format!(
            "status.state: Unsupported value: {state:?}: supported values: \"Active\", \"Disabled\""
        ));
    }
    let role = take_annotation(&mut user, GLOBAL_ROLE_ANNOTATION);
    let manages_users = kapis
        .security
        .allows(&caller, &global_attrs(&caller, "update", "users", ""));
    if !manages_users {
        // Only the built-in self-service grant let the caller in: the
        // profile changes, nothing else (`spec.groups` would hand the user
        // any group's roles; KubeSphere 3.4 lets it through).
        user = profile_update(&current, &user);
    }
    // The password is changed through `.../password` only: whatever the
    // body says, the stored hash stays.
    let stored_password = current.pointer("/spec/password").cloned();
    if let Some(spec) = user.get_mut("spec").and_then(Value::as_object_mut) {
        match stored_password {
            Some(hash) => spec.insert("password".to_owned(), hash),
            None => spec.remove("password"),
        };
    }
    let path = format!("{USERS_PATH}/{name}");
    let response = (kapis.internal)
        .forward(
            Method::PUT,
            &path,
            "application/json",
            Bytes::from(user.to_string()),
        )
        .await;
    let updated = match success_body(response).await {
        Ok(updated) => updated,
        Err(response) => return response,
    };
    if let Some(role) = &role
        && global_role_of(&kapis, &name).as_deref() != Some(role)
    {
        if !manages_users {
            return status(ApiError::forbidden(format!(
                "users.iam.kubesphere.io \"{name}\" is forbidden: update global role binding is not allowed"
            )));
        }
        if let Err(response) = bind_global_role(&kapis, &name, role).await {
            return response;
        }
    }
    let role = role.or_else(|| global_role_of(&kapis, &name));
    ok(&present(updated, role.as_deref()))
}

async fn delete_user(State(kapis): State<Arc<Kapis>>, Path(name): Path<String>) -> Response {
    let path = format!("{USERS_PATH}/{name}");
    let response = (kapis.internal)
        .forward(Method::DELETE, &path, "application/json", Bytes::new())
        .await;
    match success_body(response).await {
        Ok(_) => ok(&json!({"message": "success"})),
        Err(response) => response,
    }
}

/// What `caller` asks to do to `resource` (`/subresource`) of
/// `iam.kubesphere.io` at the global scope.
fn global_attrs<'a>(
    caller: &'a UserInfo,
    verb: &'a str,
    resource: &'a str,
    subresource: &'a str,
) -> Attributes<'a> {
    Attributes {
        user: &caller.name,
        groups: (&caller.groups).into(),
        extra: (&caller.extra).into(),
        verb,
        api_group: IAM,
        resource,
        subresource,
        resource_scope: Some(ResourceScope::Global),
        is_resource_request: true,
        ..Attributes::default()
    }
}

/// The fields of a User its owner may edit.
const PROFILE_FIELDS: [&str; 4] = ["email", "lang", "description", "displayName"];

/// `current` with the profile fields of `body` (a field the body leaves
/// out is cleared, as a full update does) and the body's resourceVersion
/// (so concurrent edits still conflict).
fn profile_update(current: &Value, body: &Value) -> Value {
    let mut out = current.clone();
    if let Some(rv) = body.pointer("/metadata/resourceVersion")
        && let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.insert("resourceVersion".to_owned(), rv.clone());
    }
    let wanted = body.get("spec").and_then(Value::as_object);
    if let Some(spec) = out.get_mut("spec").and_then(Value::as_object_mut) {
        for field in PROFILE_FIELDS {
            match wanted.and_then(|w| w.get(field)) {
                Some(value) => spec.insert(field.to_owned(), value.clone()),
                None => spec.remove(field),
            };
        }
    }
    out
}

/// The body of `PUT users/{user}/password`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordReset {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
}

async fn modify_password(
    State(kapis): State<Arc<Kapis>>,
    Extension(caller): Extension<UserInfo>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(reset) = serde_json::from_slice::<PasswordReset>(&body) else {
        return bad_request("the body must be {\"currentPassword\": ..., \"password\": ...}");
    };
    if reset.password.is_empty() {
        return bad_request("password: Required value");
    }
    let user = match kapis
        .app
        .get_object(IAM, "v1alpha2", "users", "", &name)
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => return status(ApiError::not_found(USERS, &name)),
        Err(e) => return status(e),
    };
    let attrs = global_attrs(&caller, "update", "users", "password");
    let manager = kapis.security.allows(&caller, &attrs);
    if !manager || !reset.current_password.is_empty() {
        let hash = user
            .pointer("/spec/password")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let current = reset.current_password.clone();
        let right = tokio::task::spawn_blocking(move || {
            !hash.is_empty() && bcrypt::verify(current, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if !right {
            return bad_request("incorrect old password");
        }
    }
    // Admission hashes the new password, checks its strength and revokes
    // the user's tokens.
    let patch = json!({"spec": {"password": reset.password}});
    let path = format!("{USERS_PATH}/{name}");
    let response = (kapis.internal)
        .forward(
            Method::PATCH,
            &path,
            "application/merge-patch+json",
            Bytes::from(patch.to_string()),
        )
        .await;
    match success_body(response).await {
        Ok(_) => ok(&json!({"message": "success"})),
        Err(response) => response,
    }
}

async fn login_records(
    State(kapis): State<Arc<Kapis>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = match list_query(raw.as_deref(), &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let keep = |record: &&Entry| record.label(USER_REFERENCE_LABEL) == Some(name.as_str());
    listed(
        kapis
            .page((IAM, "v1alpha2", "loginrecords"), None, &query, keep, None)
            .await,
    )
}

/// The role templates of the user's global role: the GlobalRoles its
/// `iam.kubesphere.io/aggregation-roles` names, `[]` without a binding.
async fn global_role_templates(
    State(kapis): State<Arc<Kapis>>,
    Path(name): Path<String>,
) -> Response {
    let Some(role) = global_role_of(&kapis, &name) else {
        return ok(&json!([]));
    };
    let roles = match kapis
        .app
        .list_objects(IAM, "v1alpha2", "globalroles", None)
        .await
    {
        Ok(roles) => roles,
        Err(e) => return status(e),
    };
    let Some(bound) = roles.iter().find(|r| name_of(r) == role) else {
        return ok(&json!([]));
    };
    let names: Vec<String> = bound
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(AGGREGATION_ROLES_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    let templates: Vec<&Value> = (roles.iter())
        .filter(|r| names.iter().any(|n| n == name_of(r)))
        .collect();
    ok(&templates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presenting_a_user_drops_the_hash_and_computes_the_role() {
        let user = json!({
            "metadata": {"name": "alice", "annotations": {GLOBAL_ROLE_ANNOTATION: "stale"}},
            "spec": {"email": "a@example.com", "password": "$2a$10$abc"},
        });
        let shown = present(user.clone(), Some("platform-regular"));
        assert!(shown.pointer("/spec/password").is_none());
        assert_eq!(
            shown["metadata"]["annotations"][GLOBAL_ROLE_ANNOTATION],
            "platform-regular"
        );
        let shown = present(user, None);
        assert!(
            shown["metadata"]["annotations"]
                .get(GLOBAL_ROLE_ANNOTATION)
                .is_none()
        );
        assert_eq!(shown["spec"]["email"], "a@example.com");
    }

    #[test]
    fn an_empty_role_annotation_binds_nothing() {
        let mut user = json!({"metadata": {"annotations": {GLOBAL_ROLE_ANNOTATION: ""}}});
        assert_eq!(take_annotation(&mut user, GLOBAL_ROLE_ANNOTATION), None);
        assert!(
            user["metadata"]["annotations"]
                .get(GLOBAL_ROLE_ANNOTATION)
                .is_none()
        );
    }
}
