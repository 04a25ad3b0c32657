//! `iam.kubesphere.io/v1alpha2` roles of the four scopes: `globalroles`,
//! `clusterroles`, `workspaces/{ws}/workspaceroles` and
//! `namespaces/{ns}/roles` (list, get, create, update, patch, delete).
//!
//! What KubeSphere 3.4 does (`pkg/kapis/iam/v1alpha2/handler.go`,
//! `pkg/models/iam/am/am.go`, `pkg/models/resources/v1alpha3/{globalrole,
//! clusterrole,workspacerole,role}`), and ks-rs with it:
//!
//! - a role written through these routes gets its rules from its
//!   `iam.kubesphere.io/aggregation-roles` annotation (a JSON array of role
//!   template names): on create and update the rules are the union of
//!   those templates' rules, whatever the body says, and none without the
//!   annotation (`CreateOrUpdate*Role`); a patch cannot set the rules, and
//!   recomputes them when it sets the annotation (`Patch*Role`). Templates
//!   are roles of the same kind found by name: global roles, cluster roles,
//!   the Roles of the same namespace, and for a workspace role the
//!   workspace roles with no workspace label (the shared templates) or
//!   this workspace's. Rules written by hand go through `/apis`, where the
//!   escalation check applies;
//! - a workspace role always carries `kubesphere.io/workspace: {ws}`, and
//!   a workspace role of another workspace does not exist through this
//!   one (404); a namespace role is a Role of that namespace;
//! - the lists take the common query and `aggregateTo={role}`: the
//!   templates that role aggregates (the ones that exist). The workspace
//!   role list holds the workspace's roles, and also the shared templates
//!   when the query asks for templates (`label` or `labelSelector` naming
//!   `iam.kubesphere.io/role-template`, or `aggregateTo`);
//! - writes are made by the server through the embedded API once the
//!   filter chain has authorized the caller on the route; its answers
//!   (created objects, `Status` errors) are returned as they are. A delete
//!   answers `{"message": "success"}`.
//!
//! Where ks-rs differs, deliberately:
//!
//! - a template the annotation names that does not exist, or an
//!   annotation that is not a JSON array of names, is a 400 naming the
//!   template or the annotation (KubeSphere answers the template's 404, or
//!   silently writes no rules for a malformed annotation). The same rule
//!   listed by two templates is kept once;
//! - a workspace role's templates are the shared ones and the workspace's
//!   own, never another workspace's roles (KubeSphere finds any workspace
//!   role by name, for the rules and for `aggregateTo`), and a template
//!   list through a workspace never shows other workspaces' roles;
//! - updating a workspace role of another workspace is a 404 (KubeSphere
//!   relabels it into this workspace);
//! - a patch is a JSON merge patch (`application/merge-patch+json`, or
//!   plain `application/json`); a JSON patch is a 415.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, Method, header};
use ks_kube_api::ApiError;
use ks_kube_api::error::GroupResource;
use ks_types::meta::{AGGREGATION_ROLES_ANNOTATION, ROLE_TEMPLATE_LABEL, WORKSPACE_LABEL};
use serde_json::{Value, json};

use crate::kapis::{
    Kapis, bad_request, json_object, list_query, name_of, ok, status, success_body,
};

/// The list filters of the role lists besides the common ones.
pub const ROLE_FILTERS: [&str; 1] = ["aggregateTo"];

/// Where a role lives: which kind, and in which workspace or namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoleScope<'a> {
    /// `GlobalRole`.
    Global,
    /// `ClusterRole`.
    Cluster,
    /// `WorkspaceRole` labelled with this workspace.
    Workspace(&'a str),
    /// `Role` in this namespace.
    Namespace(&'a str),
}

const IAM: &str = "iam.kubesphere.io";
const RBAC: &str = "rbac.authorization.k8s.io";

impl<'a> RoleScope<'a> {
    /// The API group of the kind.
    pub(crate) fn group(self) -> &'static str {
        match self {
            RoleScope::Global | RoleScope::Workspace(_) => IAM,
            RoleScope::Cluster | RoleScope::Namespace(_) => RBAC,
        }
    }

    /// The API version of the kind.
    pub(crate) fn version(self) -> &'static str {
        match self {
            RoleScope::Global | RoleScope::Workspace(_) => "v1alpha2",
            RoleScope::Cluster | RoleScope::Namespace(_) => "v1",
        }
    }

    /// The resource.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            RoleScope::Global => "globalroles",
            RoleScope::Cluster => "clusterroles",
            RoleScope::Workspace(_) => "workspaceroles",
            RoleScope::Namespace(_) => "roles",
        }
    }

    /// The kind, as a binding's `roleRef` names it.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            RoleScope::Global => "GlobalRole",
            RoleScope::Cluster => "ClusterRole",
            RoleScope::Workspace(_) => "WorkspaceRole",
            RoleScope::Namespace(_) => "Role",
        }
    }

    /// The resource, for messages.
    pub(crate) fn resource(self) -> GroupResource<'static> {
        GroupResource {
            group: self.group(),
            resource: self.plural(),
        }
    }

    fn namespace(self) -> Option<&'a str> {
        match self {
            RoleScope::Namespace(ns) => Some(ns),
            _ => None,
        }
    }

    /// The collection's path in the embedded API.
    fn collection_path(self) -> String {
        match self {
            RoleScope::Namespace(ns) => format!("/apis/{RBAC}/v1/namespaces/{ns}/roles"),
            _ => format!(
                "/apis/{}/{}/{}",
                self.group(),
                self.version(),
                self.plural()
            ),
        }
    }

    fn object_path(self, name: &str) -> String {
        format!("{}/{name}", self.collection_path())
    }

    /// Whether a stored role of this kind is in this scope.
    pub(crate) fn holds(self, role: &Value) -> bool {
        match self {
            RoleScope::Workspace(ws) => workspace_label(role) == Some(ws),
            _ => true,
        }
    }

    /// Whether a stored role of this kind may serve as a template here:
    /// for a workspace, the shared templates (no workspace label) and the
    /// workspace's own roles.
    fn offers_template(self, role: &Value) -> bool {
        match self {
            RoleScope::Workspace(ws) => workspace_label(role).is_none_or(|w| w == ws),
            _ => true,
        }
    }

    /// Every role of the kind in the namespace (all workspaces' for
    /// workspace roles: callers filter).
    async fn list_all(self, kapis: &Kapis) -> Result<Vec<Value>, ApiError> {
        (kapis.app)
            .list_objects(
                self.group(),
                self.version(),
                self.plural(),
                self.namespace(),
            )
            .await
    }

    /// The stored role `name` of the kind, whatever its workspace.
    async fn get_any(self, kapis: &Kapis, name: &str) -> Result<Option<Value>, ApiError> {
        let namespace = self.namespace().unwrap_or("");
        (kapis.app)
            .get_object(self.group(), self.version(), self.plural(), namespace, name)
            .await
    }

    /// The role `name` of this scope, `None` when there is none (or it
    /// belongs to another workspace).
    pub(crate) async fn get(self, kapis: &Kapis, name: &str) -> Result<Option<Value>, ApiError> {
        Ok(self.get_any(kapis, name).await?.filter(|r| self.holds(r)))
    }

    /// The role `name` of this scope, or the 404 `Status` response.
    pub(crate) async fn existing(self, kapis: &Kapis, name: &str) -> Result<Value, Response> {
        match self.get(kapis, name).await {
            Ok(Some(role)) => Ok(role),
            Ok(None) => Err(status(ApiError::not_found(self.resource(), name))),
            Err(e) => Err(status(e)),
        }
    }

    /// The templates the role `name` of this scope aggregates, as
    /// KubeSphere's `aggregateTo` filter finds them: none when the role
    /// does not exist, those that exist (in the annotation's order, each
    /// once) otherwise.
    pub(crate) async fn templates_of(
        self,
        kapis: &Kapis,
        name: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let Some(role) = self.get(kapis, name).await? else {
            return Ok(Vec::new());
        };
        let Some(names) = aggregation_names(&role).ok().flatten() else {
            return Ok(Vec::new());
        };
        let mut templates: Vec<Value> = Vec::new();
        for name in names {
            if templates.iter().any(|t| name_of(t) == name) {
                continue;
            }
            if let Some(template) = self.get_any(kapis, &name).await?
                && self.offers_template(&template)
            {
                templates.push(template);
            }
        }
        Ok(templates)
    }
}

fn workspace_label(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(WORKSPACE_LABEL))
        .and_then(Value::as_str)
        .filter(|w| !w.is_empty())
}

/// Why an aggregation annotation cannot be followed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadAnnotation(String);

/// The names in a role's `iam.kubesphere.io/aggregation-roles`: `None`
/// without the annotation.
pub(crate) fn aggregation_names(object: &Value) -> Result<Option<Vec<String>>, BadAnnotation> {
    let Some(raw) = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(AGGREGATION_ROLES_ANNOTATION))
    else {
        return Ok(None);
    };
    let parsed = match raw {
        Value::Null => return Ok(None),
        Value::String(text) => serde_json::from_str::<Vec<String>>(text).ok(),
        _ => None,
    };
    match parsed {
        Some(names) => Ok(Some(names)),
        None => Err(BadAnnotation(format!(
            "metadata.annotations[{AGGREGATION_ROLES_ANNOTATION}]: {raw} is not a JSON array of \
             role template names, e.g. \"[\\\"role-template-view-basic\\\"]\""
        ))),
    }
}

/// The rules of `names`' templates in `scope`, each distinct rule once in
/// the templates' order; the 400 `Status` naming a missing template.
pub(crate) async fn aggregated_rules(
    kapis: &Kapis,
    scope: RoleScope<'_>,
    names: &[String],
) -> Result<Vec<Value>, Response> {
    let mut rules: Vec<Value> = Vec::new();
    for name in names {
        let template = match scope.get_any(kapis, name).await {
            Ok(Some(t)) if scope.offers_template(&t) => t,
            Ok(_) => {
                let place = match scope {
                    RoleScope::Workspace(ws) => format!(" shared or of workspace {ws}"),
                    RoleScope::Namespace(ns) => format!(" in namespace {ns}"),
                    _ => String::new(),
                };
                return Err(bad_request(format!(
                    "metadata.annotations[{AGGREGATION_ROLES_ANNOTATION}] names the role template \
                     {name:?}, which is not a {}{place}: create the template first or remove it \
                     from the list",
                    scope.kind()
                )));
            }
            Err(e) => return Err(status(e)),
        };
        for rule in template
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !rules.contains(rule) {
                rules.push(rule.clone());
            }
        }
    }
    Ok(rules)
}

pub(crate) fn routes() -> Router<Arc<Kapis>> {
    let v2 = "/kapis/iam.kubesphere.io/v1alpha2";
    Router::new()
        .route(
            &format!("{v2}/globalroles"),
            get(list_global).post(create_global),
        )
        .route(
            &format!("{v2}/globalroles/{{name}}"),
            get(get_global)
                .put(update_global)
                .patch(patch_global)
                .delete(delete_global),
        )
        .route(
            &format!("{v2}/clusterroles"),
            get(list_cluster).post(create_cluster),
        )
        .route(
            &format!("{v2}/clusterroles/{{name}}"),
            get(get_cluster)
                .put(update_cluster)
                .patch(patch_cluster)
                .delete(delete_cluster),
        )
        .route(
            &format!("{v2}/workspaces/{{workspace}}/workspaceroles"),
            get(list_workspace).post(create_workspace),
        )
        .route(
            &format!("{v2}/workspaces/{{workspace}}/workspaceroles/{{name}}"),
            get(get_workspace)
                .put(update_workspace)
                .patch(patch_workspace)
                .delete(delete_workspace),
        )
        .route(
            &format!("{v2}/namespaces/{{namespace}}/roles"),
            get(list_namespace).post(create_namespace),
        )
        .route(
            &format!("{v2}/namespaces/{{namespace}}/roles/{{name}}"),
            get(get_namespace)
                .put(update_namespace)
                .patch(patch_namespace)
                .delete(delete_namespace),
        )
}

// The handlers of each scope are thin: they name the scope and call the
// shared operation.

async fn list_global(State(kapis): State<Arc<Kapis>>, RawQuery(q): RawQuery) -> Response {
    list(&kapis, RoleScope::Global, q.as_deref()).await
}

async fn list_cluster(State(kapis): State<Arc<Kapis>>, RawQuery(q): RawQuery) -> Response {
    list(&kapis, RoleScope::Cluster, q.as_deref()).await
}

async fn list_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    list(&kapis, RoleScope::Workspace(&ws), q.as_deref()).await
}

async fn list_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path(ns): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    list(&kapis, RoleScope::Namespace(&ns), q.as_deref()).await
}

async fn get_global(State(kapis): State<Arc<Kapis>>, Path(name): Path<String>) -> Response {
    describe(&kapis, RoleScope::Global, &name).await
}

async fn get_cluster(State(kapis): State<Arc<Kapis>>, Path(name): Path<String>) -> Response {
    describe(&kapis, RoleScope::Cluster, &name).await
}

async fn get_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
) -> Response {
    describe(&kapis, RoleScope::Workspace(&ws), &name).await
}

async fn get_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    describe(&kapis, RoleScope::Namespace(&ns), &name).await
}

async fn create_global(State(kapis): State<Arc<Kapis>>, body: Bytes) -> Response {
    create(&kapis, RoleScope::Global, &body).await
}

async fn create_cluster(State(kapis): State<Arc<Kapis>>, body: Bytes) -> Response {
    create(&kapis, RoleScope::Cluster, &body).await
}

async fn create_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Response {
    create(&kapis, RoleScope::Workspace(&ws), &body).await
}

async fn create_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path(ns): Path<String>,
    body: Bytes,
) -> Response {
    create(&kapis, RoleScope::Namespace(&ns), &body).await
}

async fn update_global(
    State(kapis): State<Arc<Kapis>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    update(&kapis, RoleScope::Global, &name, &body).await
}

async fn update_cluster(
    State(kapis): State<Arc<Kapis>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    update(&kapis, RoleScope::Cluster, &name, &body).await
}

async fn update_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    update(&kapis, RoleScope::Workspace(&ws), &name, &body).await
}

async fn update_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    update(&kapis, RoleScope::Namespace(&ns), &name, &body).await
}

async fn patch_global(
    State(kapis): State<Arc<Kapis>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    patch(&kapis, RoleScope::Global, &name, &headers, &body).await
}

async fn patch_cluster(
    State(kapis): State<Arc<Kapis>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    patch(&kapis, RoleScope::Cluster, &name, &headers, &body).await
}

async fn patch_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    patch(&kapis, RoleScope::Workspace(&ws), &name, &headers, &body).await
}

async fn patch_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    patch(&kapis, RoleScope::Namespace(&ns), &name, &headers, &body).await
}

async fn delete_global(State(kapis): State<Arc<Kapis>>, Path(name): Path<String>) -> Response {
    delete(&kapis, RoleScope::Global, &name).await
}

async fn delete_cluster(State(kapis): State<Arc<Kapis>>, Path(name): Path<String>) -> Response {
    delete(&kapis, RoleScope::Cluster, &name).await
}

async fn delete_workspace(
    State(kapis): State<Arc<Kapis>>,
    Path((ws, name)): Path<(String, String)>,
) -> Response {
    delete(&kapis, RoleScope::Workspace(&ws), &name).await
}

async fn delete_namespace(
    State(kapis): State<Arc<Kapis>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    delete(&kapis, RoleScope::Namespace(&ns), &name).await
}

/// Whether a list query asks for role templates (KubeSphere's
/// `ListWorkspaceRoles` then drops the workspace filter).
fn asks_for_templates(raw_query: Option<&str>) -> bool {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw_query.unwrap_or(""))
        .unwrap_or_default()
        .iter()
        .any(|(k, v)| match k.as_str() {
            "label" | "labelSelector" => v.contains(ROLE_TEMPLATE_LABEL),
            "aggregateTo" => !v.is_empty(),
            _ => false,
        })
}

async fn list(kapis: &Kapis, scope: RoleScope<'_>, raw_query: Option<&str>) -> Response {
    let query = match list_query(raw_query, &ROLE_FILTERS) {
        Ok(q) => q,
        Err(response) => return response,
    };
    let roles = match query.extra_filter("aggregateTo").filter(|r| !r.is_empty()) {
        Some(role) => scope.templates_of(kapis, role).await,
        None => scope.list_all(kapis).await.map(|mut roles| {
            if asks_for_templates(raw_query) {
                roles.retain(|r| scope.offers_template(r));
            } else {
                roles.retain(|r| scope.holds(r));
            }
            roles
        }),
    };
    match roles {
        Ok(roles) => ok(&query.select(roles, |_| true)),
        Err(e) => status(e),
    }
}

async fn describe(kapis: &Kapis, scope: RoleScope<'_>, name: &str) -> Response {
    match scope.existing(kapis, name).await {
        Ok(role) => ok(&role),
        Err(response) => response,
    }
}

/// Prepares a role body for create or update: the scope's label or
/// namespace, and the rules of its templates (none without the
/// annotation).
async fn prepare(kapis: &Kapis, scope: RoleScope<'_>, role: &mut Value) -> Result<(), Response> {
    let names = aggregation_names(role)
        .map_err(|BadAnnotation(message)| bad_request(message))?
        .unwrap_or_default();
    let rules = aggregated_rules(kapis, scope, &names).await?;
    let Some(object) = role.as_object_mut() else {
        return Err(bad_request("the body must be a JSON object"));
    };
    object.insert("rules".to_owned(), Value::Array(rules));
    let meta = object.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    match scope {
        RoleScope::Workspace(ws) => {
            let labels = &mut meta["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            labels[WORKSPACE_LABEL] = Value::String(ws.to_owned());
        }
        RoleScope::Namespace(ns) => {
            meta["namespace"] = Value::String(ns.to_owned());
        }
        RoleScope::Global | RoleScope::Cluster => {}
    }
    Ok(())
}

async fn create(kapis: &Kapis, scope: RoleScope<'_>, body: &[u8]) -> Response {
    let mut role = match json_object(body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if let Err(response) = prepare(kapis, scope, &mut role).await {
        return response;
    }
    (kapis.internal)
        .forward(
            Method::POST,
            &scope.collection_path(),
            "application/json",
            Bytes::from(role.to_string()),
        )
        .await
}

async fn update(kapis: &Kapis, scope: RoleScope<'_>, name: &str, body: &[u8]) -> Response {
    let mut role = match json_object(body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if name_of(&role) != name {
        return bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            name_of(&role)
        ));
    }
    if let Err(response) = scope.existing(kapis, name).await {
        return response;
    }
    if let Err(response) = prepare(kapis, scope, &mut role).await {
        return response;
    }
    (kapis.internal)
        .forward(
            Method::PUT,
            &scope.object_path(name),
            "application/json",
            Bytes::from(role.to_string()),
        )
        .await
}

async fn patch(
    kapis: &Kapis,
    scope: RoleScope<'_>,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/merge-patch+json");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !matches!(
        media,
        "application/merge-patch+json"
            | "application/json"
            | "application/strategic-merge-patch+json"
    ) {
        return status(ApiError::unsupported_media_type(format!(
            "a role patch is a JSON merge patch (application/merge-patch+json), not {media:?}"
        )));
    }
    let mut patch = match json_object(body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if let Err(response) = scope.existing(kapis, name).await {
        return response;
    }
    // The rules follow the templates: a patch sets them only through the
    // annotation.
    let names = match aggregation_names(&patch) {
        Ok(names) => names,
        Err(BadAnnotation(message)) => return bad_request(message),
    };
    let rules = match names {
        Some(names) => match aggregated_rules(kapis, scope, &names).await {
            Ok(rules) => Some(rules),
            Err(response) => return response,
        },
        None => None,
    };
    if let Some(object) = patch.as_object_mut() {
        object.remove("rules");
        if let Some(rules) = rules {
            object.insert("rules".to_owned(), Value::Array(rules));
        }
    }
    if let RoleScope::Workspace(ws) = scope
        && let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut)
        && meta.contains_key("labels")
    {
        // The workspace label stays, whatever the patch does to labels.
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        labels[WORKSPACE_LABEL] = Value::String(ws.to_owned());
    }
    (kapis.internal)
        .forward(
            Method::PATCH,
            &scope.object_path(name),
            "application/merge-patch+json",
            Bytes::from(patch.to_string()),
        )
        .await
}

async fn delete(kapis: &Kapis, scope: RoleScope<'_>, name: &str) -> Response {
    if let Err(response) = scope.existing(kapis, name).await {
        return response;
    }
    let response = (kapis.internal)
        .forward(
            Method::DELETE,
            &scope.object_path(name),
            "application/json",
            Bytes::new(),
        )
        .await;
    match success_body(response).await {
        Ok(_) => ok(&json!({"message": "success"})),
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregation_annotation_is_a_json_array_of_names() {
        let role = |annotation: Value| json!({"metadata": {"annotations": {AGGREGATION_ROLES_ANNOTATION: annotation}}});
        assert_eq!(
            aggregation_names(&role(json!("[\"a\",\"b\"]"))),
            Ok(Some(vec!["a".to_owned(), "b".to_owned()]))
        );
        assert_eq!(aggregation_names(&role(json!("[]"))), Ok(Some(Vec::new())));
        assert_eq!(aggregation_names(&role(Value::Null)), Ok(None));
        assert_eq!(aggregation_names(&json!({"metadata": {}})), Ok(None));
        for bad in [json!("a,b"), json!("[1]"), json!(["a"]), json!("{}")] {
            let Err(BadAnnotation(message)) = aggregation_names(&role(bad.clone())) else {
                panic!("{bad} was accepted");
            };
            assert!(message.contains(AGGREGATION_ROLES_ANNOTATION), "{message}");
        }
    }

    #[test]
    fn workspace_scopes_hold_their_roles_and_offer_shared_templates() {
        let labelled = |ws: &str| json!({"metadata": {"labels": {WORKSPACE_LABEL: ws}}});
        let shared = json!({"metadata": {"name": "t"}});
        let scope = RoleScope::Workspace("ws1");
        assert!(scope.holds(&labelled("ws1")));
        assert!(!scope.holds(&labelled("ws2")));
        assert!(!scope.holds(&shared));
        assert!(scope.offers_template(&shared));
        assert!(scope.offers_template(&labelled("ws1")));
        assert!(!scope.offers_template(&labelled("ws2")));
        assert!(RoleScope::Global.holds(&labelled("ws2")));
    }

    #[test]
    fn template_queries_are_recognised() {
        assert!(asks_for_templates(Some(
            "label=iam.kubesphere.io%2Frole-template%3Dtrue"
        )));
        assert!(asks_for_templates(Some(
            "labelSelector=iam.kubesphere.io/role-template"
        )));
        assert!(asks_for_templates(Some("aggregateTo=ws1-admin")));
        assert!(!asks_for_templates(Some("name=admin&aggregateTo=")));
        assert!(!asks_for_templates(None));
    }

    #[test]
    fn paths_follow_the_kind() {
        assert_eq!(
            RoleScope::Namespace("ns1").object_path("r"),
            "/apis/rbac.authorization.k8s.io/v1/namespaces/ns1/roles/r"
        );
        assert_eq!(
            RoleScope::Workspace("ws").collection_path(),
            "/apis/iam.kubesphere.io/v1alpha2/workspaceroles"
        );
        assert_eq!(
            RoleScope::Cluster.collection_path(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles"
        );
    }
}
