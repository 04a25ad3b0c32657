//! `tenant.kubesphere.io`: the workspaces, namespaces and clusters a
//! caller may see, and the workspace-scoped writes of KubeSphere 3.4.
//!
//! Lists follow KubeSphere's `pkg/models/tenant`:
//!
//! - workspaces (`v1alpha2` `workspaces` and `v1alpha3` `workspacetemplates`
//!   list WorkspaceTemplates; `v1alpha3` `workspaces` lists Workspaces):
//!   all of them to a caller allowed `list workspaces` (API group `*`) at
//!   the global scope; otherwise exactly the workspaces named by the
//!   `kubesphere.io/workspace` label of a WorkspaceRoleBinding whose
//!   subjects name the caller or one of its groups;
//! - namespaces (`namespaces`, `workspaces/{ws}/namespaces`,
//!   `workspaces/{ws}/workspacemembers/{member}/namespaces`): all of them
//!   (of the workspace) to a caller allowed `list namespaces` at the
//!   cluster scope (the workspace scope); otherwise the namespaces of the
//!   RoleBindings that name the caller or one of its groups (of the
//!   workspace). For a member, the member is asked about, by name alone.
//! - clusters: all to a caller allowed `list clusters` (API group
//!   `cluster.kubesphere.io`) at the global scope; otherwise those named by
//!   the caller's `iam.kubesphere.io/granted-clusters` annotation.
//!
//! Every list takes the common query ([`super::query`]). Writes are made by
//! the server once the filter chain has authorized the caller on the
//! route (`create namespaces` in workspace `ws`, ...), through the
//! embedded API, whose answers (including `Status` errors) are returned as
//! they are.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, Method, header};
use k8s_openapi::api::rbac::v1::Subject;
use ks_kube_api::{ApiError, UserInfo};
use ks_rbac::{Attributes, Policy};
use ks_request_info::ResourceScope;
use serde_json::Value;

use super::catalog::Entry;
use super::query::ObjectView;
use super::{Kapis, json_object, list_query, listed, ok, status};

const TENANT: &str = "tenant.kubesphere.io";
const WORKSPACE_LABEL: &str = ks_types::meta::WORKSPACE_LABEL;
const CREATOR_ANNOTATION: &str = "kubesphere.io/creator";
/// What KubeSphere's workspace controller reads to keep a deleted
/// template's namespaces (`DELETE ...?propagationPolicy=Orphan`).
const ORPHAN_FINALIZER: &str = "orphan.finalizers.kubesphere.io";
const TEMPLATES_PATH: &str = "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates";

pub(super) fn routes() -> Router<Arc<Kapis>> {
    let v2 = "/kapis/tenant.kubesphere.io/v1alpha2";
    let v3 = "/kapis/tenant.kubesphere.io/v1alpha3";
    Router::new()
        .route(
            &format!("{v2}/workspaces"),
            get(list_templates).post(create_template),
        )
        .route(
            &format!("{v2}/workspaces/{{workspace}}"),
            get(get_template)
                .put(update_template)
                .patch(patch_template)
                .delete(delete_template),
        )
        .route(&format!("{v2}/namespaces"), get(list_all_namespaces))
        .route(
            &format!("{v2}/workspaces/{{workspace}}/namespaces"),
            get(list_workspace_namespaces).post(create_namespace),
        )
        .route(
            &format!("{v2}/workspaces/{{workspace}}/namespaces/{{namespace}}"),
            get(get_namespace)
                .put(update_namespace)
                .patch(patch_namespace)
                .delete(delete_namespace),
        )
        .route(
            &format!("{v2}/workspaces/{{workspace}}/workspacemembers/{{member}}/namespaces"),
            get(list_member_namespaces),
        )
        .route(&format!("{v2}/clusters"), get(list_clusters))
        .route(
            &format!("{v3}/workspacetemplates"),
            get(list_templates).post(create_template),
        )
        .route(
            &format!("{v3}/workspacetemplates/{{workspace}}"),
            get(get_template)
                .put(update_template)
                .patch(patch_template)
                .delete(delete_template),
        )
        .route(&format!("{v3}/workspaces"), get(list_workspaces))
        .route(
            &format!("{v3}/workspaces/{{workspace}}"),
            get(get_workspace),
        )
}

/// Whether `subjects` name `user` (kind `User`) or one of `groups` (kind
/// `Group`), as KubeSphere's member lookups match them.
pub(crate) fn names_subject(subjects: &[Subject], user: &str, groups: &[String]) -> bool {
    subjects.iter().any(|s| match s.kind.as_str() {
        "User" => s.name == user,
        "Group" => groups.contains(&s.name),
        _ => false,
    })
}

/// The workspaces where a WorkspaceRoleBinding names the user or a group.
pub(crate) fn bound_workspaces(policy: &Policy, user: &str, groups: &[String]) -> BTreeSet<String> {
    (policy.workspace_role_bindings.iter())
        .filter(|b| names_subject(&b.subjects, user, groups))
        .filter_map(|b| ks_types::meta::workspace_of(&b.metadata).map(str::to_owned))
        .collect()
}

/// The namespaces where a RoleBinding names the user or a group.
pub(crate) fn bound_namespaces(policy: &Policy, user: &str, groups: &[String]) -> BTreeSet<String> {
    (policy.role_bindings.iter())
        .filter(|b| names_subject(b.subjects.as_deref().unwrap_or_default(), user, groups))
        .filter_map(|b| b.metadata.namespace.clone())
        .collect()
}

fn label_of<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(key))
        .and_then(Value::as_str)
}

/// Whether `user` may `verb` `resource` (API group `group`) at `scope`.
fn may(
    kapis: &Kapis,
    user: &UserInfo,
    verb: &str,
    group: &str,
    resource: &str,
    scope: ResourceScope,
    workspace: &str,
) -> bool {
    let attrs = Attributes {
        user: &user.name,
        groups: (&user.groups).into(),
        extra: (&user.extra).into(),
        verb,
        api_group: group,
        resource,
        workspace,
        resource_scope: Some(scope),
        is_resource_request: true,
        ..Attributes::default()
    };
    kapis.security.allows(user, &attrs)
}

async fn list_visible_workspaces(
    kapis: &Kapis,
    user: &UserInfo,
    raw_query: Option<&str>,
    version: &str,
    plural: &str,
) -> Response {
    let query = match list_query(raw_query, &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let bound = (!may(
        kapis,
        user,
        "list",
        "*",
        "workspaces",
        ResourceScope::Global,
        "",
    ))
    .then(|| (kapis.security.rbac).with_policy(|p| bound_workspaces(p, &user.name, &user.groups)));
    let keep = |e: &&Entry| bound.as_ref().is_none_or(|b| b.contains(e.name()));
    listed(
        kapis
            .page((TENANT, version, plural), None, &query, keep, None)
            .await,
    )
}

async fn list_templates(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    list_visible_workspaces(
        &kapis,
        &user,
        query.as_deref(),
        "v1alpha2",
        "workspacetemplates",
    )
    .await
}

async fn list_workspaces(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    list_visible_workspaces(&kapis, &user, query.as_deref(), "v1alpha1", "workspaces").await
}

async fn get_one(kapis: &Kapis, version: &str, plural: &str, name: &str) -> Response {
    match kapis
        .app
        .get_object(TENANT, version, plural, "", name)
        .await
    {
        Ok(Some(object)) => ok(&object),
        Ok(None) => status(ApiError::not_found(
            ks_kube_api::error::GroupResource {
                group: TENANT,
                resource: plural,
            },
            name,
        )),
        Err(e) => status(e),
    }
}

async fn get_template(State(kapis): State<Arc<Kapis>>, Path(workspace): Path<String>) -> Response {
    get_one(&kapis, "v1alpha2", "workspacetemplates", &workspace).await
}

async fn get_workspace(State(kapis): State<Arc<Kapis>>, Path(workspace): Path<String>) -> Response {
    get_one(&kapis, "v1alpha1", "workspaces", &workspace).await
}

/// Sets `metadata.{field}.{key}` to `value` (always, or only when absent).
fn set_meta(object: &mut Value, field: &str, key: &str, value: &str, overwrite: bool) {
    let Some(meta) = object.as_object_mut().map(|o| {
        o.entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()))
    }) else {
        return;
    };
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Default::default()));
    if !map.is_object() {
        *map = Value::Object(Default::default());
    }
    if let Some(map) = map.as_object_mut()
        && (overwrite || !map.contains_key(key))
    {
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

/// Fills what KubeSphere's handlers add by decoding a template into its Go
/// type and encoding it again: Go's `encoding/json` always writes a struct
/// field, so `spec`, `spec.template` and `spec.placement` are there (as
/// `{}`) even when the caller left them out, as the console's create
/// dialog does on a single cluster. Without this the embedded API would
/// refuse the console's workspace (`spec.placement: Required value`).
fn fill_struct_fields(template: &mut Value) {
    fn object<'a>(
        map: &'a mut serde_json::Map<String, Value>,
        key: &str,
    ) -> Option<&'a mut serde_json::Map<String, Value>> {
        let value = map
            .entry(key)
            .or_insert_with(|| Value::Object(Default::default()));
        if value.is_null() {
            *value = Value::Object(Default::default());
        }
        value.as_object_mut()
    }
    // A non-object anywhere is left for the API's validation to name.
    if let Some(spec) = template.as_object_mut().and_then(|t| object(t, "spec")) {
        object(spec, "template");
        object(spec, "placement");
    }
}

fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(value.to_string())
}

async fn create_template(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    body: Bytes,
) -> Response {
    let mut template = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    // The workspace controller makes the creator the workspace's admin.
    set_meta(
        &mut template,
        "annotations",
        CREATOR_ANNOTATION,
        &user.name,
        false,
    );
    fill_struct_fields(&mut template);
    (kapis.internal)
        .forward(
            Method::POST,
            TEMPLATES_PATH,
            "application/json",
            to_bytes(&template),
        )
        .await
}

async fn update_template(
    State(kapis): State<Arc<Kapis>>,
    Path(workspace): Path<String>,
    body: Bytes,
) -> Response {
    let mut template = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    fill_struct_fields(&mut template);
    let path = format!("{TEMPLATES_PATH}/{workspace}");
    (kapis.internal)
        .forward(Method::PUT, &path, "application/json", to_bytes(&template))
        .await
}

/// The patch type to forward: the caller's when it names one, a merge
/// patch for `application/json` or none (KubeSphere's handlers read a
/// plain JSON body as a merge patch).
fn patch_type(headers: &HeaderMap) -> &str {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match given.split(';').next().map(str::trim) {
        Some("application/json") | Some("") | None => "application/merge-patch+json",
        _ => given,
    }
}

async fn patch_template(
    State(kapis): State<Arc<Kapis>>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("{TEMPLATES_PATH}/{workspace}");
    (kapis.internal)
        .forward(Method::PATCH, &path, patch_type(&headers), body)
        .await
}

async fn delete_template(
    State(kapis): State<Arc<Kapis>>,
    Path(workspace): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let orphan = form_urlencoded_pairs(query.as_deref())
        .any(|(k, v)| k == "propagationPolicy" && v == "Orphan");
    let path = format!("{TEMPLATES_PATH}/{workspace}");
    if orphan {
        // The finalizer tells the workspace controller to keep the
        // namespaces; the other finalizers stay.
        let current = match kapis
            .app
            .get_object(TENANT, "v1alpha2", "workspacetemplates", "", &workspace)
            .await
        {
            Ok(Some(object)) => object,
            Ok(None) => return get_one(&kapis, "v1alpha2", "workspacetemplates", &workspace).await,
            Err(e) => return status(e),
        };
        let mut finalizers: Vec<Value> = current
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
            finalizers.push(Value::String(ORPHAN_FINALIZER.to_owned()));
            let patch = serde_json::json!({"metadata": {"finalizers": finalizers}});
            let response = (kapis.internal)
                .forward(
                    Method::PATCH,
                    &path,
                    "application/merge-patch+json",
                    to_bytes(&patch),
                )
                .await;
            if !response.status().is_success() {
                return response;
            }
        }
    }
    let options = serde_json::json!({
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": if orphan { "Orphan" } else { "Background" },
    });
    (kapis.internal)
        .forward(
            Method::DELETE,
            &path,
            "application/json",
            to_bytes(&options),
        )
        .await
}

/// The `key=value` pairs of a query string, percent-decoded.
fn form_urlencoded_pairs(query: Option<&str>) -> impl Iterator<Item = (String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
}

async fn list_namespaces_for(
    kapis: &Kapis,
    user: &UserInfo,
    workspace: Option<&str>,
    raw_query: Option<&str>,
) -> Response {
    let query = match list_query(raw_query, &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let (scope, ws) = match workspace {
        Some(ws) => (ResourceScope::Workspace, ws),
        None => (ResourceScope::Cluster, ""),
    };
    let bound = (!may(kapis, user, "list", "", "namespaces", scope, ws)).then(|| {
        (kapis.security.rbac).with_policy(|p| bound_namespaces(p, &user.name, &user.groups))
    });
    let keep = |e: &&Entry| {
        workspace.is_none_or(|ws| e.label(WORKSPACE_LABEL) == Some(ws))
            && bound.as_ref().is_none_or(|b| b.contains(e.name()))
    };
    listed(
        kapis
            .page(("", "v1", "namespaces"), None, &query, keep, None)
            .await,
    )
}

async fn list_all_namespaces(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    list_namespaces_for(&kapis, &user, None, query.as_deref()).await
}

async fn list_workspace_namespaces(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    Path(workspace): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    list_namespaces_for(&kapis, &user, Some(&workspace), query.as_deref()).await
}

async fn list_member_namespaces(
    State(kapis): State<Arc<Kapis>>,
    Path((workspace, member)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    // KubeSphere asks about the member by name alone, without groups.
    let member = UserInfo::new(member, Vec::<String>::new());
    list_namespaces_for(&kapis, &member, Some(&workspace), query.as_deref()).await
}

/// The namespace `name` when it belongs to `workspace`; a 404 otherwise,
/// as KubeSphere answers for a namespace of another workspace.
async fn namespace_in(kapis: &Kapis, workspace: &str, name: &str) -> Result<Value, Response> {
    let not_found = || {
        status(ApiError::not_found(
            ks_kube_api::error::GroupResource {
                group: "",
                resource: "namespaces",
            },
            name,
        ))
    };
    match kapis.app.get_object("", "v1", "namespaces", "", name).await {
        Ok(Some(ns)) if label_of(&ns, WORKSPACE_LABEL) == Some(workspace) => Ok(ns),
        Ok(_) => Err(not_found()),
        Err(e) => Err(status(e)),
    }
}

async fn create_namespace(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    Path(workspace): Path<String>,
    body: Bytes,
) -> Response {
    let mut namespace = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    set_meta(&mut namespace, "labels", WORKSPACE_LABEL, &workspace, true);
    set_meta(
        &mut namespace,
        "annotations",
        CREATOR_ANNOTATION,
        &user.name,
        false,
    );
    (kapis.internal)
        .forward(
            Method::POST,
            "/api/v1/namespaces",
            "application/json",
            to_bytes(&namespace),
        )
        .await
}

async fn get_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((workspace, name)): Path<(String, String)>,
) -> Response {
    match namespace_in(&kapis, &workspace, &name).await {
        Ok(ns) => ok(&ns),
        Err(response) => response,
    }
}

async fn update_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((workspace, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(response) = namespace_in(&kapis, &workspace, &name).await {
        return response;
    }
    let mut namespace = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    // A namespace stays in the workspace it is updated through.
    set_meta(&mut namespace, "labels", WORKSPACE_LABEL, &workspace, true);
    let path = format!("/api/v1/namespaces/{name}");
    (kapis.internal)
        .forward(Method::PUT, &path, "application/json", to_bytes(&namespace))
        .await
}

async fn patch_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((workspace, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(response) = namespace_in(&kapis, &workspace, &name).await {
        return response;
    }
    let mut patch = match json_object(&body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    // A merge patch that touches the labels cannot move the namespace out.
    if patch.pointer("/metadata/labels").is_some() {
        set_meta(&mut patch, "labels", WORKSPACE_LABEL, &workspace, true);
    }
    let path = format!("/api/v1/namespaces/{name}");
    (kapis.internal)
        .forward(
            Method::PATCH,
            &path,
            "application/merge-patch+json",
            to_bytes(&patch),
        )
        .await
}

async fn delete_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((workspace, name)): Path<(String, String)>,
) -> Response {
    if let Err(response) = namespace_in(&kapis, &workspace, &name).await {
        return response;
    }
    let path = format!("/api/v1/namespaces/{name}");
    (kapis.internal)
        .forward(Method::DELETE, &path, "application/json", Bytes::new())
        .await
}

async fn list_clusters(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match list_query(query.as_deref(), &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let gvr = ("cluster.kubesphere.io", "v1alpha1", "clusters");
    let all = may(
        &kapis,
        &user,
        "list",
        "cluster.kubesphere.io",
        "clusters",
        ResourceScope::Global,
        "",
    );
    // Otherwise the clusters the user's `iam.kubesphere.io/granted-clusters`
    // annotation names (comma-separated).
    let granted: BTreeSet<String> = if all {
        BTreeSet::new()
    } else {
        match kapis
            .app
            .get_object("iam.kubesphere.io", "v1alpha2", "users", "", &user.name)
            .await
        {
            Ok(Some(u)) => (u.pointer("/metadata/annotations"))
                .and_then(|a| a.get(ks_types::meta::GRANTED_CLUSTERS_ANNOTATION))
                .and_then(Value::as_str)
                .map(|list| {
                    list.split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            Ok(None) => BTreeSet::new(),
            Err(e) => return status(e),
        }
    };
    let keep = |e: &&Entry| all || granted.contains(e.name());
    listed(kapis.page(gvr, None, &query, keep, None).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_match_users_and_groups_exactly() {
        let subject = |kind: &str, name: &str| Subject {
            kind: kind.into(),
            name: name.into(),
            ..Subject::default()
        };
        let groups = vec!["team-a".to_owned()];
        assert!(names_subject(&[subject("User", "alice")], "alice", &[]));
        assert!(!names_subject(&[subject("User", "alice2")], "alice", &[]));
        assert!(!names_subject(&[subject("User", "ali")], "alice", &[]));
        assert!(names_subject(&[subject("Group", "team-a")], "bob", &groups));
        assert!(!names_subject(&[subject("Group", "team-a")], "bob", &[]));
        assert!(!names_subject(
            &[subject("ServiceAccount", "alice")],
            "alice",
            &[]
        ));
    }

    #[test]
    fn set_meta_adds_or_keeps() {
        let mut object =
            serde_json::json!({"metadata": {"annotations": {"kubesphere.io/creator": "x"}}});
        set_meta(
            &mut object,
            "annotations",
            CREATOR_ANNOTATION,
            "alice",
            false,
        );
        set_meta(&mut object, "labels", WORKSPACE_LABEL, "ws1", true);
        assert_eq!(object["metadata"]["annotations"][CREATOR_ANNOTATION], "x");
        assert_eq!(object["metadata"]["labels"][WORKSPACE_LABEL], "ws1");
        let mut bare = serde_json::json!({});
        set_meta(&mut bare, "labels", WORKSPACE_LABEL, "ws1", true);
        assert_eq!(bare["metadata"]["labels"][WORKSPACE_LABEL], "ws1");
    }

    #[test]
    fn struct_fields_are_filled_as_a_go_round_trip_would() {
        use serde_json::json;
        let cases = [
            (
                json!({}),
                json!({"spec": {"template": {}, "placement": {}}}),
            ),
            (
                json!({"spec": null}),
                json!({"spec": {"template": {}, "placement": {}}}),
            ),
            (
                json!({"spec": {"template": {"spec": {"manager": "admin"}}}}),
                json!({"spec": {"template": {"spec": {"manager": "admin"}}, "placement": {}}}),
            ),
            (
                json!({"spec": {"placement": {"clusters": [{"name": "host"}]}}}),
                json!({"spec": {"template": {}, "placement": {"clusters": [{"name": "host"}]}}}),
            ),
            // Wrong types stay for validation to report.
            (
                json!({"spec": {"template": {}, "placement": "host"}}),
                json!({"spec": {"template": {}, "placement": "host"}}),
            ),
            (json!({"spec": 3}), json!({"spec": 3})),
        ];
        for (mut given, expected) in cases {
            fill_struct_fields(&mut given);
            assert_eq!(given, expected);
        }
    }
}
