//! First-start content: the `default`, `kube-system` and
//! `kubesphere-system` namespaces, KubeSphere's CRDs and built-in roles,
//! Kubernetes' default ClusterRoles, the controllers' role,
//! `kubesphere-system/kubesphere-config`, and the bootstrap admin.
//! Idempotent: existing objects are left as they are, so a restart (or a
//! user's edit of a built-in role) is never overwritten.

use serde::Serialize;
use serde_json::Value;

use ks_kube_api::App;
use ks_kube_api::api::create_internal;
use ks_kube_api::error::{ApiError, ApiResult};

/// Namespaces every server has.
pub(crate) const NAMESPACES: [&str; 3] = ["default", "kube-system", "kubesphere-system"];

fn to_value<T: Serialize>(obj: &T) -> ApiResult<Value> {
    serde_json::to_value(obj)
        .map_err(|e| ApiError::internal(format!("encoding a built-in object: {e}")))
}

/// Creates whatever of the bootstrap content is missing.
pub(crate) async fn bootstrap(app: &App) -> ApiResult<()> {
    ks_kube_api::crd::load_crds(app).await?;
    let mut created = 0usize;
    for crd in ks_types::crd::crds() {
        created += usize::from(create_internal(app, to_value(&crd)?).await?);
    }
    ks_kube_api::crd::load_crds(app).await?;
    for ns in NAMESPACES {
        let obj =
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        created += usize::from(create_internal(app, obj).await?);
    }
    let mut roles = Vec::new();
    for role in ks_types::builtin::global_role_templates()
        .into_iter()
        .chain(ks_types::builtin::global_roles())
    {
        roles.push(to_value(&role)?);
    }
    for role in ks_types::builtin::workspace_role_templates() {
        roles.push(to_value(&role)?);
    }
    for role in roles {
        created += usize::from(create_internal(app, role).await?);
    }
    for obj in kubernetes_roles()
        .into_iter()
        .chain(user_facing_cluster_roles())
        .chain([kubesphere_config()])
    {
        created += usize::from(create_internal(app, obj).await?);
    }
    if created > 0 {
        tracing::info!(created, "bootstrap created its missing objects");
    }
    Ok(())
}

/// Kubernetes' roles every cluster has, so that any authenticated user can
/// discover the API and anyone can probe health (`system:discovery`,
/// `system:public-info-viewer`), and `cluster-admin`; and
/// `ks-rs:kapis-openapi-viewer`, which lets every signed-in user read the
/// /kapis OpenAPI document.
fn kubernetes_roles() -> Vec<Value> {
    let rbac = "rbac.authorization.k8s.io/v1";
    let cluster_role = |name: &str, rules: Value| {
        serde_json::json!({
            "apiVersion": rbac, "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "rules": rules,
        })
    };
    let binding = |name: &str, groups: &[&str]| {
        let subjects: Vec<Value> = groups
            .iter()
            .map(|g| serde_json::json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
            .collect();
        serde_json::json!({
            "apiVersion": rbac, "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": subjects,
        })
    };
    vec![
        cluster_role(
            "cluster-admin",
            serde_json::json!([
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ]),
        ),
        cluster_role(
            "system:discovery",
            serde_json::json!([{"nonResourceURLs": [
                "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz",
                "/openapi", "/openapi/*", "/version", "/version/"
            ], "verbs": ["get"]}]),
        ),
        binding("system:discovery", &["system:authenticated"]),
        // The /kapis OpenAPI document, for every signed-in user (kept out
        // of Kubernetes' own `system:discovery`).
        cluster_role(
            "ks-rs:kapis-openapi-viewer",
            serde_json::json!([{"nonResourceURLs": ["/kapis/openapi/v3"], "verbs": ["get"]}]),
        ),
        binding("ks-rs:kapis-openapi-viewer", &["system:authenticated"]),
        serde_json::json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRole",
            "metadata": {"name": CONTROLLER_MANAGER_ROLE},
            "rules": controller_manager_rules(),
        }),
        serde_json::json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRoleBinding",
            "metadata": {"name": CONTROLLER_MANAGER_ROLE},
            "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "GlobalRole", "name": CONTROLLER_MANAGER_ROLE},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": crate::controllers::IDENTITY}],
        }),
        cluster_role(
            "system:public-info-viewer",
            serde_json::json!([{"nonResourceURLs": [
                "/healthz", "/livez", "/readyz", "/version", "/version/"
            ], "verbs": ["get"]}]),
        ),
        binding(
            "system:public-info-viewer",
            &["system:authenticated", "system:unauthenticated"],
        ),
    ]
}

/// The GlobalRole (and GlobalRoleBinding) of the controllers' identity
/// (global role names are DNS subdomains: no `:`).
pub(crate) const CONTROLLER_MANAGER_ROLE: &str = "ks-rs-controller-manager";

/// What the controllers of `ks-controller-manager` do, and nothing more:
/// the GlobalRole [`CONTROLLER_MANAGER_ROLE`] (a global role applies at
/// every scope, and KubeSphere's own kinds are global-scope resources),
/// bound to the user `system:ks-controller-manager`: the in-process
/// controllers' identity, and the one to give a standalone
/// controller-manager (a client certificate with that common name). `bind`
/// and `escalate` on the four role kinds let them create the built-in roles and the bindings KubeSphere creates
/// (a workspace's roles, a namespace creator's `admin` binding, a
/// platform-admin's `cluster-admin` binding) without holding every
/// permission those grant.
fn controller_manager_rules() -> Value {
    let read = ["get", "list", "watch"];
    let write = [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];
    serde_json::json!([
        {"apiGroups": ["iam.kubesphere.io"], "resources": ["users"], "verbs": ["get", "list", "watch", "update", "patch"]},
        {"apiGroups": ["iam.kubesphere.io"], "resources": ["users/status"], "verbs": ["update", "patch"]},
        {"apiGroups": ["iam.kubesphere.io"], "resources": ["loginrecords"], "verbs": ["get", "list", "watch", "delete"]},
        {"apiGroups": ["iam.kubesphere.io"], "resources": [
            "globalrolebindings", "workspacerolebindings", "workspaceroles", "groupbindings", "groups"
        ], "verbs": write},
        {"apiGroups": ["iam.kubesphere.io"], "resources": ["globalroles"], "verbs": read},
        {"apiGroups": ["iam.kubesphere.io"], "resources": ["globalroles", "workspaceroles"], "verbs": ["bind", "escalate"]},
        {"apiGroups": ["tenant.kubesphere.io"], "resources": ["workspacetemplates"], "verbs": ["get", "list", "watch", "update", "patch"]},
        {"apiGroups": ["tenant.kubesphere.io"], "resources": ["workspaces"], "verbs": write},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings", "rolebindings", "roles"], "verbs": write},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": read},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "clusterroles"], "verbs": ["bind", "escalate"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch", "update", "patch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "update", "patch"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch", "create", "update"]},
    ])
}

/// Kubernetes' user-facing ClusterRoles `admin`, `edit` and `view` and the
/// `system:aggregate-to-*` roles they aggregate, with Kubernetes' rules and
/// labels (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`). `view` is
/// aggregated into `edit` and `edit` into `admin` by label. Their `rules`
/// hold what Kubernetes' aggregation controller would write; the
/// authorizer also follows the `aggregationRule`s, so a ClusterRole added
/// later with an `aggregate-to-*` label counts without a rewrite.
fn user_facing_cluster_roles() -> Vec<Value> {
    const RW: [&str; 5] = ["create", "delete", "deletecollection", "patch", "update"];
    const READ: [&str; 3] = ["get", "list", "watch"];
    const ALL: [&str; 8] = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| serde_json::json!({"apiGroups": groups, "resources": resources, "verbs": verbs});
    let to_view = vec![
        rule(
            &[""],
            &[
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
            ],
            &READ,
        ),
        rule(
            &[""],
            &[
                "bindings",
                "events",
                "limitranges",
                "namespaces/status",
                "pods/log",
                "pods/status",
                "replicationcontrollers/status",
                "resourcequotas",
                "resourcequotas/status",
            ],
            &READ,
        ),
        rule(&[""], &["namespaces"], &READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
        rule(
            &["apps"],
            &[
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            &READ,
        ),
        rule(
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
            &READ,
        ),
        rule(
            &["batch"],
            &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
            &READ,
        ),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
            ],
            &READ,
        ),
        rule(
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
            &READ,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "ingresses/status", "networkpolicies"],
            &READ,
        ),
    ];
    let to_edit = vec![
        rule(
            &[""],
            &[
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "secrets",
                "services/proxy",
            ],
            &READ,
        ),
        rule(&[""], &["serviceaccounts"], &["impersonate"]),
        rule(
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
            ],
            &RW,
        ),
        rule(&[""], &["pods/eviction"], &["create"]),
        rule(
            &[""],
            &[
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            &RW,
        ),
        rule(&[""], &["serviceaccounts/token"], &["create"]),
        rule(
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            &RW,
        ),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], &RW),
        rule(&["batch"], &["cronjobs", "jobs"], &RW),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "ingresses",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
            ],
            &RW,
        ),
        rule(&["policy"], &["poddisruptionbudgets"], &RW),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            &RW,
        ),
        rule(&["coordination.k8s.io"], &["leases"], &ALL),
    ];
    let to_admin = vec![
        rule(
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews"],
            &["create"],
        ),
        rule(
            &["rbac.authorization.k8s.io"],
            &["rolebindings", "roles"],
            &ALL,
        ),
    ];
    let view: Vec<Value> = to_view.clone();
    let edit: Vec<Value> = to_edit.iter().chain(&view).cloned().collect();
    let admin: Vec<Value> = to_admin.iter().chain(&edit).cloned().collect();
    let role = |name: &str, into: Option<&str>, aggregates: Option<&str>, rules: Vec<Value>| {
        let mut labels = serde_json::json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
        if let Some(into) = into {
            labels[format!("rbac.authorization.k8s.io/aggregate-to-{into}")] = "true".into();
        }
        let mut obj = serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels,
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": rules,
        });
        if let Some(from) = aggregates {
            obj["aggregationRule"] = serde_json::json!({"clusterRoleSelectors": [
                {"matchLabels": {format!("rbac.authorization.k8s.io/aggregate-to-{from}"): "true"}}
            ]});
        }
        obj
    };
    vec![
        role("system:aggregate-to-view", Some("view"), None, to_view),
        role("system:aggregate-to-edit", Some("edit"), None, to_edit),
        role("system:aggregate-to-admin", Some("admin"), None, to_admin),
        role("view", Some("edit"), Some("view"), view),
        role("edit", Some("admin"), Some("edit"), edit),
        role("admin", None, Some("admin"), admin),
    ]
}

/// The name of the ConfigMap in `kubesphere-system` that holds
/// KubeSphere's `kubesphere.yaml` in a KubeSphere installation.
pub(crate) const KUBESPHERE_CONFIG: &str = "kubesphere-config";

/// `kubesphere-system/kubesphere-config`, which KubeSphere's console reads
/// for the cluster's role in a multi-cluster federation
/// (`multicluster.clusterRole`: this server is a `host`). It carries only
/// that: ks-apiserver reads its own configuration from `--config`, and a
/// ConfigMap is no place for the secrets a full `kubesphere.yaml` holds.
fn kubesphere_config() -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": KUBESPHERE_CONFIG, "namespace": "kubesphere-system"},
        "data": {"kubesphere.yaml": "multicluster:\n  clusterRole: host\n  enable: false\n"},
    })
}

/// The bootstrap admin's user name.
pub(crate) const ADMIN: &str = "admin";

/// Creates the bootstrap admin if missing: user `admin` (the
/// `iam.kubesphere.io/globalrole: platform-admin` annotation the console
/// reads) with `password` (hashed by admission), bound to GlobalRole
/// `platform-admin`. Returns whether the user was created.
pub(crate) async fn bootstrap_admin(app: &App, password: &str) -> ApiResult<bool> {
    use ks_types::builtin::PLATFORM_ADMIN;
    use ks_types::meta::{GLOBAL_ROLE_ANNOTATION, USER_REFERENCE_LABEL};
    let user = serde_json::json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "User",
        "metadata": {"name": ADMIN, "annotations": {GLOBAL_ROLE_ANNOTATION: PLATFORM_ADMIN}},
        "spec": {"email": "admin@kubesphere.io", "password": password},
    });
    let created = create_internal(app, user).await?;
    let binding = serde_json::json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRoleBinding",
        "metadata": {"name": format!("{ADMIN}-{PLATFORM_ADMIN}"), "labels": {USER_REFERENCE_LABEL: ADMIN}},
        "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "GlobalRole", "name": PLATFORM_ADMIN},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": ADMIN}],
    });
    create_internal(app, binding).await?;
    Ok(created)
}
