//! `resources.kubesphere.io/v1alpha3`: paged, sorted and filtered lists
//! (and gets) of anything the server serves, with the common query.
//!
//! `GET /kapis/resources.kubesphere.io/v1alpha3/{resources}[/{name}]` and
//! `.../namespaces/{namespace}/{resources}[/{name}]`.
//!
//! `{resources}` is a plural the embedded API serves, built in or from a
//! CRD. When several groups serve the same plural (`events` in the core
//! group and in `events.k8s.io`), the core group wins, then the groups in
//! name order; within a group, the storage version.
//!
//! Authorization happens twice. The filter chain decides on the route as
//! KubeSphere does (`list configmaps` in API group
//! `resources.kubesphere.io`), and the handler then asks what `/apis`
//! would decide for the same read of the real resource (`list configmaps`
//! in the core group, in that namespace): a caller never sees more here
//! than the Kubernetes API would show it. Users are returned without
//! password hashes.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use ks_kube_api::error::GroupResource;
use ks_kube_api::resources::ResourceDef;
use ks_kube_api::{ApiError, UserInfo};
use ks_rbac::Attributes;
use ks_request_info::ResourceScope;
use serde_json::Value;

use super::catalog::Entry;
use super::{Kapis, list_query, listed, ok, status};

pub(super) fn routes() -> Router<Arc<Kapis>> {
    let v3 = "/kapis/resources.kubesphere.io/v1alpha3";
    Router::new()
        .route(&format!("{v3}/namespaces"), get(list_namespaces))
        .route(&format!("{v3}/namespaces/{{name}}"), get(get_namespace))
        .route(&format!("{v3}/{{resources}}"), get(list_cluster))
        .route(&format!("{v3}/{{resources}}/{{name}}"), get(get_cluster))
        .route(
            &format!("{v3}/namespaces/{{namespace}}/{{resources}}"),
            get(list_namespaced),
        )
        .route(
            &format!("{v3}/namespaces/{{namespace}}/{{resources}}/{{name}}"),
            get(get_namespaced),
        )
}

/// The resource a plural names (see the [module docs](self)).
fn resolve(kapis: &Kapis, plural: &str) -> Option<Arc<ResourceDef>> {
    let view = kapis.app.registry.view();
    let mut candidates: Vec<&Arc<ResourceDef>> =
        view.all().filter(|d| d.plural == plural).collect();
    candidates.sort_by(|a, b| {
        (!a.group.is_empty(), &a.group, !a.storage).cmp(&(
            !b.group.is_empty(),
            &b.group,
            !b.storage,
        ))
    });
    candidates.first().map(|d| Arc::clone(d))
}

fn not_served(plural: &str) -> Response {
    status(ApiError::not_found(
        GroupResource {
            group: "resources.kubesphere.io",
            resource: plural,
        },
        "",
    ))
}

/// Whether `user` may `verb` the resource (`name`) in `namespace` through
/// the Kubernetes API.
fn may(
    kapis: &Kapis,
    user: &UserInfo,
    verb: &str,
    def: &ResourceDef,
    namespace: &str,
    name: &str,
) -> bool {
    let scope = if namespace.is_empty() {
        ResourceScope::Cluster
    } else {
        ResourceScope::Namespace
    };
    let attrs = Attributes {
        user: &user.name,
        groups: (&user.groups).into(),
        extra: (&user.extra).into(),
        verb,
        api_group: &def.group,
        resource: &def.plural,
        name,
        namespace,
        resource_scope: Some(scope),
        is_resource_request: true,
        ..Attributes::default()
    };
    kapis.security.allows(user, &attrs)
}

fn forbidden(user: &UserInfo, verb: &str, def: &ResourceDef, namespace: &str) -> Response {
    let resource = GroupResource {
        group: &def.group,
        resource: &def.plural,
    };
    let place = if namespace.is_empty() {
        "at the cluster scope".to_owned()
    } else {
        format!("in the namespace \"{namespace}\"")
    };
    status(ApiError::forbidden(format!(
        "{resource} is forbidden: User \"{}\" cannot {verb} resource \"{}\" in API group \"{}\" {place}",
        user.name, def.plural, def.group
    )))
}

/// What this route returns of an object.
fn shown(def: &ResourceDef, object: Value) -> Value {
    let mut object = object;
    if def.group == "iam.kubesphere.io"
        && def.plural == "users"
        && let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.remove("password");
    }
    object
}

async fn list(
    kapis: &Kapis,
    user: &UserInfo,
    plural: &str,
    namespace: &str,
    raw: Option<&str>,
) -> Response {
    let Some(def) = resolve(kapis, plural) else {
        return not_served(plural);
    };
    if !namespace.is_empty() && !def.namespaced {
        return not_served(plural);
    }
    let query = match list_query(raw, &[]) {
        Ok(q) => q,
        Err(response) => return response,
    };
    if !may(kapis, user, "list", &def, namespace, "") {
        return forbidden(user, "list", &def, namespace);
    }
    let scope = (!namespace.is_empty()).then_some(namespace);
    let users = def.group == "iam.kubesphere.io" && def.plural == "users";
    let strip =
        |entry: &Entry| serde_json::to_vec(&shown(&def, entry.decode())).unwrap_or_default();
    let render: Option<super::Render<'_>> = users.then_some(&strip);
    let gvr = (
        def.group.as_str(),
        def.version.as_str(),
        def.plural.as_str(),
    );
    listed(kapis.page(gvr, scope, &query, |_| true, render).await)
}

async fn get_one(
    kapis: &Kapis,
    user: &UserInfo,
    plural: &str,
    namespace: &str,
    name: &str,
) -> Response {
    let Some(def) = resolve(kapis, plural) else {
        return not_served(plural);
    };
    if def.namespaced == namespace.is_empty() {
        return not_served(plural);
    }
    if !may(kapis, user, "get", &def, namespace, name) {
        return forbidden(user, "get", &def, namespace);
    }
    match kapis
        .app
        .get_object(&def.group, &def.version, &def.plural, namespace, name)
        .await
    {
        Ok(Some(object)) => ok(&shown(&def, object)),
        Ok(None) => status(ApiError::not_found(
            GroupResource {
                group: &def.group,
                resource: &def.plural,
            },
            name,
        )),
        Err(e) => status(e),
    }
}

async fn list_namespaces(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    RawQuery(raw): RawQuery,
) -> Response {
    list(&kapis, &user, "namespaces", "", raw.as_deref()).await
}

async fn get_namespace(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    Path(name): Path<String>,
) -> Response {
    get_one(&kapis, &user, "namespaces", "", &name).await
}

async fn list_cluster(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    Path(plural): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    list(&kapis, &user, &plural, "", raw.as_deref()).await
}

async fn get_cluster(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    Path((plural, name)): Path<(String, String)>,
) -> Response {
    get_one(&kapis, &user, &plural, "", &name).await
}

async fn list_namespaced(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    Path((namespace, plural)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    list(&kapis, &user, &plural, &namespace, raw.as_deref()).await
}

async fn get_namespaced(
    State(kapis): State<Arc<Kapis>>,
    Extension(user): Extension<UserInfo>,
    Path((namespace, plural, name)): Path<(String, String, String)>,
) -> Response {
    get_one(&kapis, &user, &plural, &namespace, &name).await
}
