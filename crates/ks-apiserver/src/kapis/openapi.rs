//! `GET /kapis/openapi/v3`: an OpenAPI 3.1 document of every /kapis route.
//!
//! The document is built, not written: [`ROUTES`] is the route table as
//! data (method, path template, summary, query, request and answer
//! shapes), [`document`] turns it into a [`utoipa`] `OpenApi`, and the
//! component schemas of KubeSphere's kinds (ks-types) and of the
//! Kubernetes kinds (k8s-openapi) come from their Rust types through
//! schemars, so they follow the types. The few shapes no type describes
//! (the list page `{"items", "totalItems"}`, the version and config
//! documents, the monitoring answer, the member, password and group-binding bodies,
//! `{"message": "success"}`) are described here. The list filters are the
//! route modules' own constants ([`super::query::COMMON_FILTERS`],
//! [`super::iam::users::USER_FILTERS`], ...), so a filter added there
//! shows up here. Path parameters are read from the templates.
//!
//! The same document is checked in as `docs/kapis-openapi.json`; the test
//! `tests/kapis_openapi.rs` fails when the two differ (run it with
//! `KS_BLESS=1` to rewrite the file) and calls every route of the table
//! on a running server, so a route served but missing here, or listed
//! here but not served, is caught when its path changes. Adding a route:
//! add its row to [`ROUTES`], then bless.
//!
//! The route is authenticated and authorized like any /kapis route (a
//! non-resource `get` of the path); bootstrap's ClusterRole
//! `ks-rs:kapis-openapi-viewer`, bound to `system:authenticated`, grants it
//! to every signed-in user.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use ks_kube_api::ApiError;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::Tag;
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, ResponseBuilder, Schema,
};

use super::iam::members::MEMBER_FILTERS;
use super::iam::roles::ROLE_FILTERS;
use super::iam::users::USER_FILTERS;
use super::query::COMMON_FILTERS;
use super::{Kapis, ok_bytes, status};

/// Where the document is served.
pub const PATH: &str = "/kapis/openapi/v3";

/// The list query parameters that page and sort (`query.rs` keeps its own
/// list private; a unit test checks that every one parses).
pub const CONTROL_PARAMETERS: [&str; 5] = ["page", "limit", "sortBy", "ascending", "labelSelector"];

/// An HTTP method of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method as HTTP writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn http(self) -> HttpMethod {
        match self {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Put => HttpMethod::Put,
            Method::Patch => HttpMethod::Patch,
            Method::Delete => HttpMethod::Delete,
        }
    }
}

/// The shape of a body, by component schema name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One object of the component.
    One(&'static str),
    /// A page of a list: `{"items": [...], "totalItems": N}`.
    Page(&'static str),
    /// A JSON array.
    Array(&'static str),
    /// What a delete made by the embedded API answers: the object (while
    /// finalizers hold it) or a success `Status`.
    Deleted(&'static str),
}

/// The query a route takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// None.
    None,
    /// The common list query, plus the route's own filters (which take
    /// over a common filter of the same name).
    List(&'static [&'static [&'static str]]),
    /// `propagationPolicy` (`Orphan` keeps a workspace's namespaces).
    Propagation,
    /// The monitoring API's parameters: (name, description).
    Metrics(&'static [(&'static str, &'static str)]),
}

/// The request body a route takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// None.
    None,
    /// A JSON body.
    Json(Shape),
    /// A JSON merge patch.
    MergePatch,
    /// A JSON merge patch or a JSON patch (passed to the embedded API).
    AnyPatch,
}

/// One operation of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path template (`{name}` for a path parameter).
    pub path: &'static str,
    /// What the operation does.
    pub summary: &'static str,
    /// Anyone may call it, without credentials.
    pub public: bool,
    /// The query parameters.
    pub query: Query,
    /// The request body.
    pub request: Request,
    /// The success status code.
    pub success: u16,
    /// The success answer.
    pub answer: Shape,
    /// Error codes besides those the method implies (see [`Route::errors`]).
    pub also: &'static [u16],
}

impl Route {
    const fn new(method: Method, path: &'static str, summary: &'static str, answer: Shape) -> Self {
        Route {
            method,
            path,
            summary,
            public: false,
            query: Query::None,
            request: Request::None,
            success: 200,
            answer,
            also: &[],
        }
    }

    const fn public(mut self) -> Self {
        self.public = true;
        self
    }

    const fn list(mut self, filters: &'static [&'static [&'static str]]) -> Self {
        self.query = Query::List(filters);
        self
    }

    const fn query(mut self, query: Query) -> Self {
        self.query = query;
        self
    }

    const fn body(mut self, request: Request) -> Self {
        self.request = request;
        self
    }

    const fn created(mut self) -> Self {
        self.success = 201;
        self
    }

    const fn also(mut self, codes: &'static [u16]) -> Self {
        self.also = codes;
        self
    }

    /// The path parameters, in template order.
    pub fn path_parameters(&self) -> Vec<&'static str> {
        template_parameters(self.path)
    }

    /// The `Status` error codes the route may answer: none for public
    /// routes; otherwise 401 and 403, 400 for a bad query or body, 404 for
    /// a path naming something, 409 and 422 for writes, and the `also` codes.
    pub fn errors(&self) -> BTreeSet<u16> {
        let mut codes = BTreeSet::new();
        if self.public {
            return codes;
        }
        codes.extend([401, 403]);
        if !matches!(self.query, Query::None) || !matches!(self.request, Request::None) {
            codes.insert(400);
        }
        if !self.path_parameters().is_empty() {
            codes.insert(404);
        }
        if matches!(self.method, Method::Post | Method::Put | Method::Patch) {
            codes.extend([409, 422]);
        }
        codes.extend(self.also);
        codes
    }

    /// The tag: the API group, or the first segment after `/kapis`.
    pub fn tag(&self) -> &'static str {
        self.path.split('/').nth(2).unwrap_or("")
    }
}

/// The `{name}` segments of a path template.
pub fn template_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

macro_rules! tenant2 {
    ($p:literal) => {
        concat!("/kapis/tenant.kubesphere.io/v1alpha2", $p)
    };
}
macro_rules! tenant3 {
    ($p:literal) => {
        concat!("/kapis/tenant.kubesphere.io/v1alpha3", $p)
    };
}
macro_rules! iam {
    ($p:literal) => {
        concat!("/kapis/iam.kubesphere.io/v1alpha2", $p)
    };
}
macro_rules! monitoring {
    ($p:literal) => {
        concat!("/kapis/monitoring.kubesphere.io/v1alpha3", $p)
    };
}
macro_rules! res {
    ($p:literal) => {
        concat!("/kapis/resources.kubesphere.io/v1alpha3", $p)
    };
}

use Method::{Delete, Get, Patch, Post, Put};
use Shape::{Array, Deleted, One, Page};

const NO_FILTERS: &[&[&str]] = &[];
const USER_LIST: &[&[&str]] = &[&USER_FILTERS];
const ROLE_LIST: &[&[&str]] = &[&ROLE_FILTERS];
const CLUSTER_MEMBER_LIST: &[&[&str]] = &[&["clusterrole"], &MEMBER_FILTERS];
const WORKSPACE_MEMBER_LIST: &[&[&str]] = &[&["workspacerole"], &MEMBER_FILTERS];
const NAMESPACE_MEMBER_LIST: &[&[&str]] = &[&["role"], &MEMBER_FILTERS];
// groups.rs passes these inline to `ListQuery::parse`.
const GROUP_BINDING_LIST: &[&[&str]] = &[&["user"]];
const WORKSPACE_ROLE_BINDING_LIST: &[&[&str]] = &[&["rolename"]];
const PLATFORM_METRICS: Query = Query::Metrics(&[(
    "metrics_filter",
    "Accepted and ignored, as KubeSphere ignores it here: the four counts are always answered \
     (so are `start`, `end`, `step`, `times` and `time`).",
)]);
const WORKSPACE_METRICS: Query = Query::Metrics(&[
    (
        "type",
        "`statistics`: the workspace's counts (namespaces, DevOps projects, members, roles); \
         `metrics_filter` and the time parameters are then ignored.",
    ),
    (
        "metrics_filter",
        "Otherwise: a regular expression selecting among KubeSphere's workspace metrics; \
         each selected metric is answered with an `error` (no metrics backend), unknown names \
         are left out.",
    ),
]);

const NAMESPACE_METRICS: Query = Query::Metrics(&[
    (
        "metrics_filter",
        "A regular expression selecting among KubeSphere's namespace metrics; each selected \
         metric is answered with an `error` (no metrics backend), unknown names are left out.",
    ),
    (
        "resources_filter",
        "Accepted and ignored: with no metrics backend no namespace has data.",
    ),
]);

/// Every /kapis route ks-apiserver serves, one row per method and path.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    // version.rs, config.rs
    Route::new(Get, "/kapis/version", "KubeSphere's version document", One("VersionDocument")).public(),
    Route::new(Get, "/kapis/config.kubesphere.io/v1alpha2/configs/oauth", "The public login settings", One("OAuthConfig")).public(),
    Route::new(Get, "/kapis/config.kubesphere.io/v1alpha2/configs/configz", "Which KubeSphere components are enabled", One("Configz")).public(),
    Route::new(Get, "/kapis/config.kubesphere.io/v1alpha2/configs/gpu/kinds", "The GPU kinds of the configuration (gpu.kinds)", Array("GpuKind")).public(),
    // openapi.rs
    Route::new(Get, PATH, "This OpenAPI document", One("OpenApiDocument")),
    // tenant.rs: v1alpha2
    Route::new(Get, tenant2!("/workspaces"), "List the workspace templates the caller may see", Page("WorkspaceTemplate")).list(NO_FILTERS),
    Route::new(Post, tenant2!("/workspaces"), "Create a workspace template", One("WorkspaceTemplate")).body(Request::Json(One("WorkspaceTemplate"))).created(),
    Route::new(Get, tenant2!("/workspaces/{workspace}"), "Read a workspace template", One("WorkspaceTemplate")),
    Route::new(Put, tenant2!("/workspaces/{workspace}"), "Replace a workspace template", One("WorkspaceTemplate")).body(Request::Json(One("WorkspaceTemplate"))),
    Route::new(Patch, tenant2!("/workspaces/{workspace}"), "Patch a workspace template", One("WorkspaceTemplate")).body(Request::AnyPatch),
    Route::new(Delete, tenant2!("/workspaces/{workspace}"), "Delete a workspace template", Deleted("WorkspaceTemplate")).query(Query::Propagation),
    Route::new(Get, tenant2!("/namespaces"), "List the namespaces the caller may see", Page("Namespace")).list(NO_FILTERS),
    Route::new(Get, tenant2!("/workspaces/{workspace}/namespaces"), "List the workspace's namespaces the caller may see", Page("Namespace")).list(NO_FILTERS),
    Route::new(Post, tenant2!("/workspaces/{workspace}/namespaces"), "Create a namespace in the workspace", One("Namespace")).body(Request::Json(One("Namespace"))).created(),
    Route::new(Get, tenant2!("/workspaces/{workspace}/namespaces/{namespace}"), "Read a namespace of the workspace", One("Namespace")),
    Route::new(Put, tenant2!("/workspaces/{workspace}/namespaces/{namespace}"), "Replace a namespace of the workspace", One("Namespace")).body(Request::Json(One("Namespace"))),
    Route::new(Patch, tenant2!("/workspaces/{workspace}/namespaces/{namespace}"), "Patch a namespace of the workspace", One("Namespace")).body(Request::AnyPatch),
    Route::new(Delete, tenant2!("/workspaces/{workspace}/namespaces/{namespace}"), "Delete a namespace of the workspace", Deleted("Namespace")),
    Route::new(Get, tenant2!("/workspaces/{workspace}/workspacemembers/{member}/namespaces"), "List the workspace's namespaces the member may see", Page("Namespace")).list(NO_FILTERS),
    Route::new(Get, tenant2!("/clusters"), "List the clusters (all, to a caller allowed to list clusters; none otherwise)", Page("Cluster")).list(NO_FILTERS),
    // tenant.rs: v1alpha3
    Route::new(Get, tenant3!("/workspacetemplates"), "List the workspace templates the caller may see", Page("WorkspaceTemplate")).list(NO_FILTERS),
    Route::new(Post, tenant3!("/workspacetemplates"), "Create a workspace template", One("WorkspaceTemplate")).body(Request::Json(One("WorkspaceTemplate"))).created(),
    Route::new(Get, tenant3!("/workspacetemplates/{workspace}"), "Read a workspace template", One("WorkspaceTemplate")),
    Route::new(Put, tenant3!("/workspacetemplates/{workspace}"), "Replace a workspace template", One("WorkspaceTemplate")).body(Request::Json(One("WorkspaceTemplate"))),
    Route::new(Patch, tenant3!("/workspacetemplates/{workspace}"), "Patch a workspace template", One("WorkspaceTemplate")).body(Request::AnyPatch),
    Route::new(Delete, tenant3!("/workspacetemplates/{workspace}"), "Delete a workspace template", Deleted("WorkspaceTemplate")).query(Query::Propagation),
    Route::new(Get, tenant3!("/workspaces"), "List the workspaces the caller may see", Page("Workspace")).list(NO_FILTERS),
    Route::new(Get, tenant3!("/workspaces/{workspace}"), "Read a workspace", One("Workspace")),
    // resources.rs
    Route::new(Get, res!("/namespaces"), "List namespaces", Page("Namespace")).list(NO_FILTERS),
    Route::new(Get, res!("/namespaces/{name}"), "Read a namespace", One("Namespace")),
    Route::new(Get, res!("/{resources}"), "List any served resource (all namespaces)", Page("KubernetesObject")).list(NO_FILTERS),
    Route::new(Get, res!("/{resources}/{name}"), "Read an object of a cluster-scoped resource", One("KubernetesObject")),
    Route::new(Get, res!("/namespaces/{namespace}/{resources}"), "List any served resource in a namespace", Page("KubernetesObject")).list(NO_FILTERS),
    Route::new(Get, res!("/namespaces/{namespace}/{resources}/{name}"), "Read an object in a namespace", One("KubernetesObject")),
    // monitoring.rs
    Route::new(Get, monitoring!("/kubesphere"), "Platform counts: clusters, workspaces, users, app templates", One("Metrics")).query(PLATFORM_METRICS),
    Route::new(Get, monitoring!("/workspaces/{workspace}"), "A workspace's counts (`type=statistics`); its usage metrics are unavailable", One("Metrics")).query(WORKSPACE_METRICS),
    Route::new(Get, monitoring!("/workspaces/{workspace}/namespaces"), "The usage metrics of a workspace's namespaces: unavailable (no metrics backend)", One("Metrics")).query(NAMESPACE_METRICS),
    // iam/users.rs
    Route::new(Get, iam!("/users"), "List users", Page("User")).list(USER_LIST),
    Route::new(Post, iam!("/users"), "Create a user (binding the global role its annotation names)", One("User")).body(Request::Json(One("UserCreate"))).created().also(&[404]),
    Route::new(Get, iam!("/users/{user}"), "Read a user", One("User")),
    Route::new(Put, iam!("/users/{user}"), "Replace a user (never its password)", One("User")).body(Request::Json(One("User"))),
    Route::new(Delete, iam!("/users/{user}"), "Delete a user", One("Success")),
    Route::new(Put, iam!("/users/{user}/password"), "Change a user's password", One("Success")).body(Request::Json(One("PasswordChange"))),
    Route::new(Get, iam!("/users/{user}/loginrecords"), "List a user's login records", Page("LoginRecord")).list(NO_FILTERS),
    Route::new(Get, iam!("/users/{user}/globalroles"), "The role templates of the user's global role", Array("GlobalRole")),
    // iam/roles.rs
    Route::new(Get, iam!("/globalroles"), "List global roles", Page("GlobalRole")).list(ROLE_LIST),
    Route::new(Post, iam!("/globalroles"), "Create a global role (rules from its role templates)", One("GlobalRole")).body(Request::Json(One("GlobalRole"))).created(),
    Route::new(Get, iam!("/globalroles/{name}"), "Read a global role", One("GlobalRole")),
    Route::new(Put, iam!("/globalroles/{name}"), "Replace a global role", One("GlobalRole")).body(Request::Json(One("GlobalRole"))),
    Route::new(Patch, iam!("/globalroles/{name}"), "Patch a global role", One("GlobalRole")).body(Request::MergePatch),
    Route::new(Delete, iam!("/globalroles/{name}"), "Delete a global role", One("Success")),
    Route::new(Get, iam!("/clusterroles"), "List cluster roles", Page("ClusterRole")).list(ROLE_LIST),
    Route::new(Post, iam!("/clusterroles"), "Create a cluster role (rules from its role templates)", One("ClusterRole")).body(Request::Json(One("ClusterRole"))).created(),
    Route::new(Get, iam!("/clusterroles/{name}"), "Read a cluster role", One("ClusterRole")),
    Route::new(Put, iam!("/clusterroles/{name}"), "Replace a cluster role", One("ClusterRole")).body(Request::Json(One("ClusterRole"))),
    Route::new(Patch, iam!("/clusterroles/{name}"), "Patch a cluster role", One("ClusterRole")).body(Request::MergePatch),
    Route::new(Delete, iam!("/clusterroles/{name}"), "Delete a cluster role", One("Success")),
    Route::new(Get, iam!("/workspaces/{workspace}/workspaceroles"), "List the workspace's roles", Page("WorkspaceRole")).list(ROLE_LIST),
    Route::new(Post, iam!("/workspaces/{workspace}/workspaceroles"), "Create a workspace role (rules from its role templates)", One("WorkspaceRole")).body(Request::Json(One("WorkspaceRole"))).created(),
    Route::new(Get, iam!("/workspaces/{workspace}/workspaceroles/{name}"), "Read a workspace role", One("WorkspaceRole")),
    Route::new(Put, iam!("/workspaces/{workspace}/workspaceroles/{name}"), "Replace a workspace role", One("WorkspaceRole")).body(Request::Json(One("WorkspaceRole"))),
    Route::new(Patch, iam!("/workspaces/{workspace}/workspaceroles/{name}"), "Patch a workspace role", One("WorkspaceRole")).body(Request::MergePatch),
    Route::new(Delete, iam!("/workspaces/{workspace}/workspaceroles/{name}"), "Delete a workspace role", One("Success")),
    Route::new(Get, iam!("/namespaces/{namespace}/roles"), "List the namespace's roles", Page("Role")).list(ROLE_LIST),
    Route::new(Post, iam!("/namespaces/{namespace}/roles"), "Create a role (rules from its role templates)", One("Role")).body(Request::Json(One("Role"))).created(),
    Route::new(Get, iam!("/namespaces/{namespace}/roles/{name}"), "Read a role", One("Role")),
    Route::new(Put, iam!("/namespaces/{namespace}/roles/{name}"), "Replace a role", One("Role")).body(Request::Json(One("Role"))),
    Route::new(Patch, iam!("/namespaces/{namespace}/roles/{name}"), "Patch a role", One("Role")).body(Request::MergePatch),
    Route::new(Delete, iam!("/namespaces/{namespace}/roles/{name}"), "Delete a role", One("Success")),
    // iam/members.rs
    Route::new(Get, iam!("/clustermembers"), "List the cluster's members", Page("User")).list(CLUSTER_MEMBER_LIST),
    Route::new(Post, iam!("/clustermembers"), "Add members to the cluster", Array("Member")).body(Request::Json(Array("Member"))).also(&[404]),
    Route::new(Get, iam!("/clustermembers/{member}"), "Read a cluster member", One("User")),
    Route::new(Put, iam!("/clustermembers/{member}"), "Change a cluster member's role", One("Member")).body(Request::Json(One("Member"))),
    Route::new(Delete, iam!("/clustermembers/{member}"), "Remove a cluster member", One("Success")),
    Route::new(Get, iam!("/clustermembers/{member}/clusterroles"), "The role templates the cluster member's role aggregates", Array("ClusterRole")),
    Route::new(Get, iam!("/workspaces/{workspace}/workspacemembers"), "List the workspace's members", Page("User")).list(WORKSPACE_MEMBER_LIST),
    Route::new(Post, iam!("/workspaces/{workspace}/workspacemembers"), "Add members to the workspace", Array("Member")).body(Request::Json(Array("Member"))),
    Route::new(Get, iam!("/workspaces/{workspace}/workspacemembers/{member}"), "Read a workspace member", One("User")),
    Route::new(Put, iam!("/workspaces/{workspace}/workspacemembers/{member}"), "Change a workspace member's role", One("Member")).body(Request::Json(One("Member"))),
    Route::new(Delete, iam!("/workspaces/{workspace}/workspacemembers/{member}"), "Remove a workspace member", One("Success")),
    Route::new(Get, iam!("/workspaces/{workspace}/workspacemembers/{member}/workspaceroles"), "The role templates the workspace member's roles aggregate", Array("WorkspaceRole")),
    Route::new(Get, iam!("/namespaces/{namespace}/members"), "List the namespace's members", Page("User")).list(NAMESPACE_MEMBER_LIST),
    Route::new(Post, iam!("/namespaces/{namespace}/members"), "Add members to the namespace", Array("Member")).body(Request::Json(Array("Member"))),
    Route::new(Get, iam!("/namespaces/{namespace}/members/{member}"), "Read a namespace member", One("User")),
    Route::new(Put, iam!("/namespaces/{namespace}/members/{member}"), "Change a namespace member's role", One("Member")).body(Request::Json(One("Member"))),
    Route::new(Delete, iam!("/namespaces/{namespace}/members/{member}"), "Remove a namespace member", One("Success")),
    Route::new(Get, iam!("/namespaces/{namespace}/members/{member}/roles"), "The role templates the namespace member's roles aggregate", Array("Role")),
    // iam/groups.rs
    Route::new(Get, iam!("/workspaces/{workspace}/groups"), "List the workspace's groups", Page("Group")).list(NO_FILTERS),
    Route::new(Post, iam!("/workspaces/{workspace}/groups"), "Create a group (`metadata.generateName` required)", One("Group")).body(Request::Json(One("Group"))).created(),
    Route::new(Get, iam!("/workspaces/{workspace}/groups/{name}"), "Read a group", One("Group")),
    Route::new(Put, iam!("/workspaces/{workspace}/groups/{name}"), "Replace a group", One("Group")).body(Request::Json(One("Group"))),
    Route::new(Patch, iam!("/workspaces/{workspace}/groups/{name}"), "Patch a group", One("Group")).body(Request::MergePatch),
    Route::new(Delete, iam!("/workspaces/{workspace}/groups/{name}"), "Delete a group", One("Success")),
    Route::new(Get, iam!("/workspaces/{workspace}/groupbindings"), "List the workspace's group bindings", Page("GroupBinding")).list(GROUP_BINDING_LIST),
    Route::new(Post, iam!("/workspaces/{workspace}/groupbindings"), "Put users into groups", Array("GroupBinding")).body(Request::Json(Array("GroupMember"))),
    Route::new(Delete, iam!("/workspaces/{workspace}/groupbindings/{name}"), "Delete a group binding", One("Success")),
    Route::new(Get, iam!("/workspaces/{workspace}/workspacerolebindings"), "List the workspace's role bindings", Page("WorkspaceRoleBinding")).list(WORKSPACE_ROLE_BINDING_LIST),
    Route::new(Post, iam!("/workspaces/{workspace}/workspacerolebindings"), "Give workspace roles to groups", Array("WorkspaceRoleBinding")).body(Request::Json(Array("WorkspaceRoleBinding"))),
    Route::new(Delete, iam!("/workspaces/{workspace}/workspacerolebindings/{name}"), "Delete a workspace role binding", One("Success")),
    Route::new(Get, iam!("/workspaces/{workspace}/rolebindings"), "The role bindings of the workspace's namespaces (an array, after the common query)", Array("RoleBinding")).list(NO_FILTERS),
    Route::new(Get, iam!("/namespaces/{namespace}/rolebindings"), "List the namespace's role bindings", Page("RoleBinding")).list(NO_FILTERS),
    Route::new(Post, iam!("/namespaces/{namespace}/rolebindings"), "Give roles of the namespace to groups", Array("RoleBinding")).body(Request::Json(Array("RoleBinding"))),
    Route::new(Delete, iam!("/namespaces/{namespace}/rolebindings/{name}"), "Delete a role binding", One("Success")),
];

/// The document cannot be built: a bug in this module or in a schema
/// the types generate, which the unit tests catch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    /// A schema is not an OpenAPI schema utoipa can hold.
    #[error("schema {name}: not an OpenAPI schema: {source}")]
    Schema {
        /// The component or parameter.
        name: String,
        /// Why utoipa refused it.
        source: serde_json::Error,
    },
    /// utoipa would change a schema (a keyword it does not keep).
    #[error("schema {name}: utoipa does not keep it as it is: {given} became {kept}")]
    Lossy {
        /// The component or parameter.
        name: String,
        /// The schema given.
        given: Value,
        /// What utoipa wrote back.
        kept: Value,
    },
    /// The document could not be encoded.
    #[error("encoding the document: {0}")]
    Encode(serde_json::Error),
}

/// The document.
pub fn document() -> Result<OpenApi, OpenApiError> {
    let mut paths: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
    for route in ROUTES {
        paths.entry(route.path).or_default().push(route);
    }
    let mut builder = PathsBuilder::new();
    for (path, routes) in paths {
        let mut item: Option<PathItem> = None;
        for route in routes {
            let operation = operation(route)?;
            match &mut item {
                Some(item) => item.merge_operations(PathItem::new(route.method.http(), operation)),
                None => item = Some(PathItem::new(route.method.http(), operation)),
            }
        }
        if let Some(mut item) = item {
            let parameters = (template_parameters(path).into_iter())
                .map(|name| path_parameter(name).map(RefOr::T))
                .collect::<Result<Vec<_>, _>>()?;
            if !parameters.is_empty() {
                item.parameters = Some(parameters);
            }
            builder = builder.path(path, item);
        }
    }

    let mut components = ComponentsBuilder::new().security_scheme(
        "BearerToken",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    for (name, schema) in component_schemas()? {
        components = components.schema(name, schema);
    }
    for (name, response) in error_responses() {
        components = components.response(name, response);
    }
    for (name, parameter) in common_parameters()? {
        components = components.parameter(name, parameter);
    }

    let mut tags: Vec<&str> = ROUTES.iter().map(Route::tag).collect();
    tags.sort_unstable();
    tags.dedup();
    Ok(OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("KubeSphere APIs (/kapis) served by ks-rs")
                .version(super::version::KUBESPHERE_VERSION)
                .description(Some(
                    "KubeSphere 3.4's own APIs as ks-apiserver serves them. Errors are \
                     Kubernetes `Status` objects; lists answer `{\"items\": [...], \
                     \"totalItems\": N}`. See docs/kapis.md.",
                ))
                .build(),
        )
        .paths(builder.build())
        .components(Some(components.build()))
        .security(Some([SecurityRequirement::new(
            "BearerToken",
            Vec::<String>::new(),
        )]))
        .tags(Some(tags.into_iter().map(Tag::new)))
        .build())
}

/// The document as served and checked in: pretty JSON, keys sorted, with
/// a final newline.
pub fn document_json() -> Result<String, OpenApiError> {
    let value = serde_json::to_value(document()?).map_err(OpenApiError::Encode)?;
    let mut text = serde_json::to_string_pretty(&sorted(value)).map_err(OpenApiError::Encode)?;
    text.push('\n');
    Ok(text)
}

/// `value` with every object's keys in order (whatever serde_json's map
/// keeps), so that the text is stable.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

pub(super) fn routes() -> Router<Arc<Kapis>> {
    Router::new().route(PATH, get(serve))
}

async fn serve() -> Response {
    static DOCUMENT: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    let built = DOCUMENT.get_or_init(|| {
        document_json()
            .map(String::into_bytes)
            .map_err(|e| e.to_string())
    });
    match built {
        Ok(bytes) => ok_bytes(bytes.clone()),
        Err(e) => status(ApiError::internal(format!("the OpenAPI document: {e}"))),
    }
}

fn operation(route: &Route) -> Result<Operation, OpenApiError> {
    let mut op = OperationBuilder::new()
        .summary(Some(route.summary))
        .tag(route.tag());
    if route.public {
        // An empty requirement: credentials are optional.
        op = op.securities(Some([SecurityRequirement::default()]));
    }
    for parameter in query_parameters(route.query)? {
        op = match parameter {
            RefOr::T(parameter) => op.parameter(parameter),
            RefOr::Ref(shared) => op.parameter_ref(shared),
        };
    }
    op = op.request_body(request_body(route.request)?);
    op = op.response(
        route.success.to_string(),
        ResponseBuilder::new()
            .description(answer_description(route.answer))
            .content("application/json", Content::new(Some(shape(route.answer)?)))
            .build(),
    );
    for code in route.errors() {
        op = op.response(
            code.to_string(),
            Ref::new(format!("#/components/responses/{}", error_name(code))),
        );
    }
    Ok(op.build())
}

/// The `Status` error responses, by name, shared by the operations.
fn error_responses() -> Vec<(&'static str, utoipa::openapi::Response)> {
    let codes = ROUTES
        .iter()
        .flat_map(Route::errors)
        .collect::<BTreeSet<_>>();
    codes
        .into_iter()
        .map(|code| {
            let response = ResponseBuilder::new()
                .description(error_description(code))
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("Status"))),
                )
                .build();
            (error_name(code), response)
        })
        .collect()
}

fn error_name(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        _ => "Error",
    }
}

fn shape(shape: Shape) -> Result<RefOr<Schema>, OpenApiError> {
    let of = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let value = match shape {
        Shape::One(name) => of(name),
        Shape::Page(name) => of(&page_name(name)),
        Shape::Array(name) => json!({"type": "array", "items": of(name)}),
        Shape::Deleted(name) => json!({"oneOf": [of(name), of("Status")]}),
    };
    to_schema("a body", value)
}

fn page_name(item: &str) -> String {
    format!("{item}Page")
}

fn answer_description(shape: Shape) -> String {
    match shape {
        Shape::One(name) => format!("The {name}."),
        Shape::Page(name) => {
            format!("A page of {name} objects and the count of all that passed the filters.")
        }
        Shape::Array(name) => format!("An array of {name}."),
        Shape::Deleted(name) => {
            format!("The {name} (still finalizing), or a Status of a completed delete.")
        }
    }
}

fn error_description(code: u16) -> &'static str {
    match code {
        400 => "Bad request: a malformed query, body or selector (the message names it).",
        401 => "No valid credentials.",
        403 => "The caller may not do this.",
        404 => "An object the path or body names does not exist.",
        409 => "Already exists, or a conflicting resourceVersion.",
        422 => "The object is invalid (the details name the fields).",
        _ => "An error.",
    }
}

fn request_body(
    request: Request,
) -> Result<Option<utoipa::openapi::request_body::RequestBody>, OpenApiError> {
    let builder = RequestBodyBuilder::new().required(Some(Required::True));
    let merge = || Content::new(Some(Ref::from_schema_name("MergePatch")));
    Ok(match request {
        Request::None => None,
        Request::Json(body) => Some(
            builder
                .content("application/json", Content::new(Some(shape(body)?)))
                .build(),
        ),
        Request::MergePatch => Some(
            builder
                .content("application/merge-patch+json", merge())
                .build(),
        ),
        Request::AnyPatch => Some(
            builder
                .content("application/merge-patch+json", merge())
                .content(
                    "application/json-patch+json",
                    Content::new(Some(Ref::from_schema_name("JsonPatch"))),
                )
                .build(),
        ),
    })
}

fn parameter(
    name: &str,
    place: ParameterIn,
    description: &str,
    schema: Value,
) -> Result<Parameter, OpenApiError> {
    let required = if matches!(place, ParameterIn::Path) {
        Required::True
    } else {
        Required::False
    };
    Ok(ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(required)
        .description(Some(description))
        .schema(Some(to_schema(name, schema)?))
        .build())
}

fn path_parameter(name: &str) -> Result<Parameter, OpenApiError> {
    let description = match name {
        "workspace" => "The workspace (its WorkspaceTemplate's name).",
        "namespace" => "The namespace.",
        "member" => "The member: a user's name.",
        "user" => "The user's name.",
        "resources" => {
            "A plural resource name the server serves (`configmaps`, `users`, ...); \
             the core group wins, then the groups in name order."
        }
        _ => "The object's name.",
    };
    parameter(
        name,
        ParameterIn::Path,
        description,
        json!({"type": "string"}),
    )
}

/// The query parameters of `query`, in a stable order: the control
/// parameters, then the route's own filters, then the common filters it
/// does not take over. The common ones are references to
/// [`common_parameters`].
fn query_parameters(query: Query) -> Result<Vec<RefOr<Parameter>>, OpenApiError> {
    let shared = |name: &str| RefOr::Ref(Ref::new(format!("#/components/parameters/{name}")));
    match query {
        Query::None => Ok(Vec::new()),
        Query::Propagation => Ok(vec![RefOr::T(parameter(
            "propagationPolicy",
            ParameterIn::Query,
            "`Orphan` keeps the workspace's namespaces (KubeSphere's \
             `orphan.finalizers.kubesphere.io`); otherwise `Background`.",
            json!({"type": "string", "enum": ["Orphan", "Background", "Foreground"]}),
        )?)]),
        Query::Metrics(parameters) => (parameters.iter())
            .map(|(name, description)| {
                parameter(
                    name,
                    ParameterIn::Query,
                    description,
                    json!({"type": "string"}),
                )
                .map(RefOr::T)
            })
            .collect(),
        Query::List(filters) => {
            let own: Vec<&str> = filters.iter().flat_map(|f| f.iter().copied()).collect();
            let mut parameters: Vec<RefOr<Parameter>> =
                CONTROL_PARAMETERS.iter().map(|name| shared(name)).collect();
            for name in &own {
                let description = filter_description(name, true);
                parameters.push(RefOr::T(parameter(
                    name,
                    ParameterIn::Query,
                    description,
                    json!({"type": "string"}),
                )?));
            }
            parameters.extend(
                (COMMON_FILTERS.iter())
                    .filter(|f| !own.contains(f))
                    .map(|name| shared(name)),
            );
            Ok(parameters)
        }
    }
}

/// The control parameters and common filters every list takes, by name.
fn common_parameters() -> Result<Vec<(&'static str, Parameter)>, OpenApiError> {
    let mut parameters = Vec::new();
    for name in CONTROL_PARAMETERS {
        let (description, schema) = control_parameter(name);
        parameters.push((
            name,
            parameter(name, ParameterIn::Query, description, schema)?,
        ));
    }
    for name in COMMON_FILTERS {
        let description = filter_description(name, false);
        let schema = json!({"type": "string"});
        parameters.push((
            name,
            parameter(name, ParameterIn::Query, description, schema)?,
        ));
    }
    Ok(parameters)
}

fn control_parameter(name: &str) -> (&'static str, Value) {
    match name {
        "page" => (
            "1-based page (default 1), used with `limit`.",
            json!({"type": "integer", "minimum": 1}),
        ),
        "limit" => (
            "Page size; absent or -1: everything; 0: no items, only `totalItems`.",
            json!({"type": "integer", "minimum": -1}),
        ),
        "sortBy" => (
            "`creationTimestamp` (default; `createTime` is the same) or `name`; ties go to \
             the name, then the namespace.",
            json!({"type": "string", "enum": ["creationTimestamp", "createTime", "name"]}),
        ),
        "ascending" => (
            "`true` for oldest / A first (default `false`).",
            json!({"type": "boolean"}),
        ),
        _ => (
            "A Kubernetes label selector (`a=b,c!=d`, `e in (f,g)`, `!h`).",
            json!({"type": "string"}),
        ),
    }
}

/// What a filter means; `own` when the route takes it over from the
/// common ones (the user list reads `namespace` as a scope).
fn filter_description(name: &str, own: bool) -> &'static str {
    match name {
        "name" => "The name contains this (case-sensitive).",
        "names" => "Comma-separated exact names.",
        "uid" => "The exact uid.",
        "namespace" if own => "The members of this namespace (with `role`: of that role).",
        "namespace" => "The exact namespace.",
        "label" => "A label selector over the labels.",
        "annotation" => "A label selector over the annotations.",
        "ownerReference" => "An owner reference has this uid.",
        "ownerKind" => "An owner reference has this kind.",
        "alias" => "The `kubesphere.io/alias-name` annotation contains this.",
        "email" => "The exact email.",
        "ingroup" => "The user is in this group (`spec.groups`).",
        "notingroup" => "The user is not in this group (`spec.groups`).",
        "role" => "The users with this role in the namespace.",
        "workspace" => "The members of this workspace (with `workspacerole`: of that role).",
        "workspacerole" => "The users with this workspace role.",
        "cluster" => "`true`: the cluster's members (with `clusterrole`: of that role).",
        "clusterrole" => "The users with this cluster role.",
        "globalrole" => "The users bound to this global role.",
        "aggregateTo" => "The role templates the named role aggregates.",
        "user" => "The bindings that list this user.",
        "rolename" => "The bindings of this role.",
        _ => "A filter of this route.",
    }
}

/// Converts a JSON schema into utoipa's type, checking that utoipa keeps
/// it as it is.
fn to_schema(name: &str, value: Value) -> Result<RefOr<Schema>, OpenApiError> {
    let mut typed = value.clone();
    mark_any_values(&mut typed);
    let schema: RefOr<Schema> =
        serde_json::from_value(typed).map_err(|source| OpenApiError::Schema {
            name: name.to_owned(),
            source,
        })?;
    let kept = serde_json::to_value(&schema).map_err(OpenApiError::Encode)?;
    if kept != value {
        return Err(OpenApiError::Lossy {
            name: name.to_owned(),
            given: value,
            kept,
        });
    }
    Ok(schema)
}

/// Gives every schema that accepts any value (`{}`, or only a
/// description) `"type": null`, which utoipa reads as its typeless
/// `SchemaType::AnyValue` (it cannot read a schema without `type`) and
/// writes back without `type`.
fn mark_any_values(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    const SHAPED: [&str; 6] = ["type", "$ref", "allOf", "oneOf", "anyOf", "not"];
    if !SHAPED.iter().any(|k| map.contains_key(*k)) {
        map.insert("type".into(), Value::Null);
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "patternProperties" => {
                if let Value::Object(properties) = value {
                    properties.values_mut().for_each(mark_any_values);
                }
            }
            "items" | "additionalProperties" | "not" | "propertyNames" => mark_any_values(value),
            "allOf" | "oneOf" | "anyOf" | "prefixItems" => {
                if let Value::Array(schemas) = value {
                    schemas.iter_mut().for_each(mark_any_values);
                }
            }
            _ => {}
        }
    }
}

/// Registers `T`'s schema (and what it refers to), naming it `name`.
fn add<T: JsonSchema>(
    generator: &mut SchemaGenerator,
    names: &mut Vec<(String, String)>,
    name: &str,
) {
    let schema = generator.subschema_for::<T>();
    let generated = (schema.get("$ref").and_then(Value::as_str))
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or(name)
        .to_owned();
    names.push((name.to_owned(), generated));
}

/// Adds `apiVersion` and `kind` (the kind macro writes them outside the
/// type) to a kind's schema.
fn with_type_meta(schema: &mut Value, api_version: &str, kind: &str) {
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            "apiVersion".into(),
            json!({"type": "string", "enum": [api_version]}),
        );
        properties.insert("kind".into(), json!({"type": "string", "enum": [kind]}));
    }
}

/// Every component schema, by name.
fn component_schemas() -> Result<BTreeMap<String, RefOr<Schema>>, OpenApiError> {
    component_values()
        .into_iter()
        .map(|(name, value)| to_schema(&name, value).map(|schema| (name, schema)))
        .collect()
}

/// Every component schema as JSON, by name.
fn component_values() -> Map<String, Value> {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
    use ks_types::cluster::Cluster;
    use ks_types::iam::{
        GlobalRole, GlobalRoleBinding, Group, GroupBinding, LoginRecord, User, WorkspaceRole,
        WorkspaceRoleBinding,
    };
    use ks_types::resource::KindInfo;
    use ks_types::tenant::{Workspace, WorkspaceTemplate};

    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut names = Vec::new();
    add::<User>(&mut generator, &mut names, "User");
    add::<GlobalRole>(&mut generator, &mut names, "GlobalRole");
    add::<WorkspaceRole>(&mut generator, &mut names, "WorkspaceRole");
    add::<GlobalRoleBinding>(&mut generator, &mut names, "GlobalRoleBinding");
    add::<WorkspaceRoleBinding>(&mut generator, &mut names, "WorkspaceRoleBinding");
    add::<Group>(&mut generator, &mut names, "Group");
    add::<GroupBinding>(&mut generator, &mut names, "GroupBinding");
    add::<LoginRecord>(&mut generator, &mut names, "LoginRecord");
    add::<WorkspaceTemplate>(&mut generator, &mut names, "WorkspaceTemplate");
    add::<Workspace>(&mut generator, &mut names, "Workspace");
    add::<Cluster>(&mut generator, &mut names, "Cluster");
    add::<Namespace>(&mut generator, &mut names, "Namespace");
    add::<Role>(&mut generator, &mut names, "Role");
    add::<ClusterRole>(&mut generator, &mut names, "ClusterRole");
    add::<RoleBinding>(&mut generator, &mut names, "RoleBinding");
    add::<ClusterRoleBinding>(&mut generator, &mut names, "ClusterRoleBinding");
    add::<Status>(&mut generator, &mut names, "Status");
    let mut defs: Map<String, Value> = generator.take_definitions(true);

    // Our names for the kinds, whatever the generator called them.
    for (name, generated) in &names {
        if name != generated
            && let Some(schema) = defs.remove(generated)
        {
            defs.insert(name.clone(), schema);
            rename_references(&mut defs, generated, name);
        }
    }

    let kinds: [(&str, &str, &str); 11] = [
        ("User", User::API_VERSION, User::KIND),
        ("GlobalRole", GlobalRole::API_VERSION, GlobalRole::KIND),
        (
            "WorkspaceRole",
            WorkspaceRole::API_VERSION,
            WorkspaceRole::KIND,
        ),
        (
            "GlobalRoleBinding",
            GlobalRoleBinding::API_VERSION,
            GlobalRoleBinding::KIND,
        ),
        (
            "WorkspaceRoleBinding",
            WorkspaceRoleBinding::API_VERSION,
            WorkspaceRoleBinding::KIND,
        ),
        ("Group", Group::API_VERSION, Group::KIND),
        (
            "GroupBinding",
            GroupBinding::API_VERSION,
            GroupBinding::KIND,
        ),
        ("LoginRecord", LoginRecord::API_VERSION, LoginRecord::KIND),
        (
            "WorkspaceTemplate",
            WorkspaceTemplate::API_VERSION,
            WorkspaceTemplate::KIND,
        ),
        ("Workspace", Workspace::API_VERSION, Workspace::KIND),
        ("Cluster", Cluster::API_VERSION, Cluster::KIND),
    ];
    for (name, api_version, kind) in kinds {
        if let Some(schema) = defs.get_mut(name) {
            with_type_meta(schema, api_version, kind);
        }
    }

    // Users are answered without `spec.password`; only a create sends it.
    if let Some(user) = defs.get("User").cloned() {
        let mut create = user.clone();
        if let Some(description) = create.get_mut("description") {
            *description = json!(
                "A user to create: `spec.password` is the initial password (hashed on write)."
            );
        }
        defs.insert("UserCreate".into(), create);
        let mut answered = user;
        let spec = defs.get("UserSpec").cloned();
        if let (Some(properties), Some(mut spec)) = (
            answered
                .get_mut("properties")
                .and_then(Value::as_object_mut),
            spec,
        ) {
            if let Some(p) = spec.get_mut("properties").and_then(Value::as_object_mut) {
                p.remove("password");
            }
            if let Some(r) = spec.get_mut("required").and_then(Value::as_array_mut) {
                r.retain(|f| f != "password");
            }
            properties.insert("spec".into(), spec);
        }
        defs.insert("User".into(), answered);
    }

    for (name, schema) in hand_described() {
        defs.insert(name.to_owned(), schema);
    }
    for item in page_items() {
        defs.insert(
            page_name(item),
            json!({
                "type": "object",
                "description": format!("A page of {item} objects."),
                "required": ["items", "totalItems"],
                "properties": {
                    "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
                    "totalItems": {"type": "integer", "description": "How many passed the filters, before paging."},
                },
            }),
        );
    }

    defs
}

/// The items of the list pages the table answers.
fn page_items() -> BTreeSet<&'static str> {
    ROUTES
        .iter()
        .filter_map(|r| match r.answer {
            Shape::Page(item) => Some(item),
            _ => None,
        })
        .collect()
}

/// Rewrites `$ref`s to `from` into `to`, everywhere in `defs`.
fn rename_references(defs: &mut Map<String, Value>, from: &str, to: &str) {
    fn walk(value: &mut Value, from: &str, to: &str) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if key == "$ref" && v.as_str() == Some(from) {
                        *v = Value::String(to.to_owned());
                    } else {
                        walk(v, from, to);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, from, to)),
            _ => {}
        }
    }
    let (from, to) = (
        format!("#/components/schemas/{from}"),
        format!("#/components/schemas/{to}"),
    );
    defs.values_mut().for_each(|v| walk(v, &from, &to));
}

/// The shapes no Rust type describes.
fn hand_described() -> Vec<(&'static str, Value)> {
    let string = json!({"type": "string"});
    vec![
        (
            "VersionDocument",
            json!({
                "type": "object",
                "description": "KubeSphere's version document: the KubeSphere release whose APIs are served, ks-rs's version and the embedded Kubernetes API's /version.",
                "properties": {
                    "gitVersion": {"type": "string", "description": "The KubeSphere release whose APIs are served (the console picks its API versions from it)."},
                    "gitMajor": string, "gitMinor": string, "gitCommit": string,
                    "gitTreeState": string, "buildDate": string, "goVersion": string,
                    "compiler": string, "platform": string,
                    "ksRsVersion": {"type": "string", "description": "ks-rs's own version."},
                    "kubernetes": {"type": "object", "description": "The embedded Kubernetes API's /version document."},
                },
                "required": ["gitVersion", "ksRsVersion", "kubernetes"],
            }),
        ),
        (
            "OAuthConfig",
            json!({
                "type": "object",
                "description": "The public login settings (never a signing key or client secrets).",
                "properties": {
                    "issuer": string,
                    "identityProviders": {"type": "array", "items": {"type": "object"}},
                    "clients": {"type": "array", "items": {"type": "object", "properties": {"name": string}, "required": ["name"]}},
                    "accessTokenMaxAge": {"type": "integer", "description": "Nanoseconds."},
                    "accessTokenInactivityTimeout": {"type": "integer", "description": "Nanoseconds."},
                },
                "required": ["issuer", "identityProviders", "clients", "accessTokenMaxAge", "accessTokenInactivityTimeout"],
            }),
        ),
        (
            "Configz",
            json!({
                "type": "object",
                "description": "Which of KubeSphere's components are enabled, by KubeSphere 3.4's key.",
                "additionalProperties": {"type": "boolean"},
            }),
        ),
        (
            "GpuKind",
            json!({
                "type": "object",
                "description": "A GPU resource the console offers (`gpu.kinds` of kubesphere.yaml).",
                "properties": {
                    "resourceName": string,
                    "resourceType": string,
                    "default": {"type": "boolean"},
                },
            }),
        ),
        (
            "Metrics",
            json!({
                "type": "object",
                "description": "KubeSphere's monitoring answer: one entry per metric, a Prometheus-style vector or an error.",
                "properties": {
                    "results": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "metric_name": string,
                            "data": {"type": "object", "properties": {
                                "resultType": {"type": "string", "enum": ["vector"]},
                                "result": {"type": "array", "items": {"type": "object", "properties": {
                                    "value": {"type": "array", "description": "[unix seconds, \"<count>\"]: the value is a string, as Prometheus writes it.", "minItems": 2, "maxItems": 2, "items": {"type": ["integer", "string"]}},
                                }}},
                            }},
                            "error": {"type": "string", "description": "Why the metric has no data (no metrics backend)."},
                        },
                        "required": ["metric_name", "data"],
                    }},
                },
                "required": ["results"],
            }),
        ),
        (
            "OpenApiDocument",
            json!({"type": "object", "description": "An OpenAPI 3.1 document (this one)."}),
        ),
        (
            "KubernetesObject",
            json!({
                "type": "object",
                "description": "An object of any resource the server serves, as /apis would answer it (users without password hashes).",
                "properties": {"apiVersion": string, "kind": string, "metadata": {"type": "object"}},
            }),
        ),
        (
            "Member",
            json!({
                "type": "object",
                "description": "A user and their role in the scope.",
                "properties": {
                    "username": {"type": "string", "description": "The user's name."},
                    "roleRef": {"type": "string", "description": "The name of the scope's role to bind."},
                },
                "required": ["username", "roleRef"],
            }),
        ),
        (
            "GroupMember",
            json!({
                "type": "object",
                "description": "A user to put into a group of the workspace.",
                "properties": {"userName": string, "groupName": string},
                "required": ["userName", "groupName"],
            }),
        ),
        (
            "PasswordChange",
            json!({
                "type": "object",
                "description": "A new password; `currentPassword` is required unless the caller may update users/password globally.",
                "properties": {"currentPassword": string, "password": string},
                "required": ["password"],
            }),
        ),
        (
            "Success",
            json!({
                "type": "object",
                "properties": {"message": {"type": "string", "enum": ["success"]}},
                "required": ["message"],
            }),
        ),
        (
            "MergePatch",
            json!({"type": "object", "description": "A JSON merge patch (RFC 7386) of the object."}),
        ),
        (
            "JsonPatch",
            json!({
                "type": "array",
                "description": "A JSON patch (RFC 6902).",
                "items": {
                    "type": "object",
                    "properties": {
                        "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
                        "path": string, "from": string, "value": {},
                    },
                    "required": ["op", "path"],
                },
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kapis::query::ListQuery;

    #[test]
    fn every_component_survives_utoipa_unchanged() {
        for (name, value) in component_values() {
            to_schema(&name, value).unwrap();
        }
    }

    #[test]
    fn the_document_is_stable_text() {
        let text = document_json().unwrap();
        assert!(text.starts_with("{\n") && text.ends_with("}\n"));
        assert_eq!(text, document_json().unwrap());
    }

    #[test]
    fn any_value_schemas_are_typeless() {
        let schema = to_schema("any", json!({"description": "anything"})).unwrap();
        assert_eq!(
            serde_json::to_value(schema).unwrap(),
            json!({"description": "anything"})
        );
    }

    #[test]
    fn control_parameters_are_what_the_query_parses() {
        for name in CONTROL_PARAMETERS {
            assert!(
                ListQuery::parse(Some(&format!("{name}=")), &[]).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_filter_is_described() {
        for route in ROUTES {
            if let Query::List(filters) = route.query {
                for name in filters.iter().flat_map(|f| f.iter()) {
                    assert_ne!(
                        filter_description(name, true),
                        "A filter of this route.",
                        "{name}"
                    );
                }
            }
        }
        for name in COMMON_FILTERS {
            assert_ne!(
                filter_description(name, false),
                "A filter of this route.",
                "{name}"
            );
        }
    }

    #[test]
    fn each_method_and_path_is_listed_once() {
        let mut seen = BTreeSet::new();
        for route in ROUTES {
            assert!(
                seen.insert((route.path, route.method)),
                "{} {}",
                route.method.as_str(),
                route.path
            );
        }
    }

    #[test]
    fn users_are_answered_without_password_but_created_with_one() {
        let doc = serde_json::to_value(document().unwrap()).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert!(
            schemas["User"]["properties"]["spec"]["properties"]
                .get("password")
                .is_none()
        );
        assert!(
            schemas["User"]["properties"]["spec"]["properties"]
                .get("email")
                .is_some()
        );
        let create = &schemas["UserCreate"]["properties"]["spec"]["$ref"];
        let spec = create.as_str().unwrap().rsplit('/').next().unwrap();
        assert!(schemas[spec]["properties"].get("password").is_some());
    }
}
