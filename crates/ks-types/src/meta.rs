//! Well-known label, annotation and finalizer names, and small helpers that
//! read them from an object's metadata.
//!
//! The names are KubeSphere's (its `kubesphere.io/api` packages and
//! controllers); changing one breaks interoperability with its manifests.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::Error;

/// Label: the workspace an object (namespace, workspace role or binding,
/// group) belongs to.
pub const WORKSPACE_LABEL: &str = "kubesphere.io/workspace";
/// Label: the namespace a KubeSphere object refers to.
pub const NAMESPACE_LABEL: &str = "kubesphere.io/namespace";
/// Annotation: who created the object.
pub const CREATOR_ANNOTATION: &str = "kubesphere.io/creator";
/// Annotation: human-friendly display name (shown as "Alias").
pub const ALIAS_NAME_ANNOTATION: &str = "kubesphere.io/alias-name";
/// Annotation: free-text description.
pub const DESCRIPTION_ANNOTATION: &str = "kubesphere.io/description";
/// Label: whether kubefed manages (propagates) the object.
pub const KUBEFED_MANAGED_LABEL: &str = "kubefed.io/managed";

/// Label: `"true"` marks a role as a role template, a building block that
/// other roles aggregate.
pub const ROLE_TEMPLATE_LABEL: &str = "iam.kubesphere.io/role-template";
/// Annotation: JSON array of role-template names whose rules the role
/// aggregates, e.g. `["role-template-view-users"]`.
pub const AGGREGATION_ROLES_ANNOTATION: &str = "iam.kubesphere.io/aggregation-roles";
/// Annotation: RFC 3339 time of the user's last password change.
pub const LAST_PASSWORD_CHANGE_TIME_ANNOTATION: &str =
    "iam.kubesphere.io/last-password-change-time";
/// Label: the user a login record, binding or kubeconfig belongs to.
pub const USER_REFERENCE_LABEL: &str = "iam.kubesphere.io/user-ref";
/// Label: the identity provider a user came from.
pub const IDENTIFY_PROVIDER_LABEL: &str = "iam.kubesphere.io/identify-provider";
/// Label: the original UID of a user from an identity provider.
pub const ORIGIN_UID_LABEL: &str = "iam.kubesphere.io/origin-uid";
/// Label: the group a binding refers to.
pub const GROUP_REFERENCE_LABEL: &str = "iam.kubesphere.io/group-ref";
/// Label: the parent of a group.
pub const GROUP_PARENT_LABEL: &str = "iam.kubesphere.io/group-parent";
/// Label: the service account a binding refers to.
pub const SERVICE_ACCOUNT_REFERENCE_LABEL: &str = "iam.kubesphere.io/serviceaccount-ref";
/// Annotation: the global role of a user (set on users by the API server).
pub const GLOBAL_ROLE_ANNOTATION: &str = "iam.kubesphere.io/globalrole";
/// Annotation: the workspace role of a member.
pub const WORKSPACE_ROLE_ANNOTATION: &str = "iam.kubesphere.io/workspacerole";
/// Annotation: the cluster role of a member.
pub const CLUSTER_ROLE_ANNOTATION: &str = "iam.kubesphere.io/clusterrole";
/// Annotation: the namespace role of a member.
pub const ROLE_ANNOTATION: &str = "iam.kubesphere.io/role";
/// Annotation: clusters a user was granted access to.
pub const GRANTED_CLUSTERS_ANNOTATION: &str = "iam.kubesphere.io/granted-clusters";
/// Annotation: the user has not finished first-login initialization.
pub const UNINITIALIZED_ANNOTATION: &str = "iam.kubesphere.io/uninitialized";
/// Annotation: role templates a role template depends on (JSON array).
pub const DEPENDENCIES_ANNOTATION: &str = "iam.kubesphere.io/dependencies";
/// Annotation: the console module a role template belongs to.
pub const MODULE_ANNOTATION: &str = "iam.kubesphere.io/module";
/// Annotation: the console's permission summary of a role template (JSON).
pub const ROLE_TEMPLATE_RULES_ANNOTATION: &str = "iam.kubesphere.io/role-template-rules";

/// Finalizer a user controller keeps on users until their bindings and
/// login records are cleaned up.
pub const USER_FINALIZER: &str = "finalizers.kubesphere.io/users";
/// Finalizer the workspace controller keeps on workspaces.
pub const WORKSPACE_FINALIZER: &str = "finalizers.tenant.kubesphere.io";
/// Finalizer the workspace role controller keeps on workspace roles.
pub const WORKSPACE_ROLE_FINALIZER: &str = "finalizers.kubesphere.io/workspaceroles";
/// Finalizer the group controller keeps on groups.
pub const GROUP_FINALIZER: &str = "finalizers.kubesphere.io/groups";
/// Finalizer the group binding controller keeps on group bindings.
pub const GROUP_BINDING_FINALIZER: &str = "finalizers.kubesphere.io/groupsbindings";
/// Finalizer the cluster controller keeps on clusters.
pub const CLUSTER_FINALIZER: &str = "finalizer.cluster.kubesphere.io";

/// Label: marks the host cluster in a multi-cluster setup.
pub const HOST_CLUSTER_LABEL: &str = "cluster-role.kubesphere.io/host";
/// Label: the region a cluster is placed in.
pub const CLUSTER_REGION_LABEL: &str = "cluster.kubesphere.io/region";
/// Label: the group a cluster belongs to.
pub const CLUSTER_GROUP_LABEL: &str = "cluster.kubesphere.io/group";

/// Reads a label.
pub fn label<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    lookup(meta.labels.as_ref(), key)
}

/// Reads an annotation.
pub fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    lookup(meta.annotations.as_ref(), key)
}

fn lookup<'a>(map: Option<&'a BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    map.and_then(|m| m.get(key)).map(String::as_str)
}

/// The workspace named by the `kubesphere.io/workspace` label, if any.
pub fn workspace_of(meta: &ObjectMeta) -> Option<&str> {
    label(meta, WORKSPACE_LABEL).filter(|s| !s.is_empty())
}

/// Whether the object is a role template (`iam.kubesphere.io/role-template: "true"`).
pub fn is_role_template(meta: &ObjectMeta) -> bool {
    label(meta, ROLE_TEMPLATE_LABEL) == Some("true")
}

/// The role templates named by the `iam.kubesphere.io/aggregation-roles`
/// annotation: `Ok(None)` when absent, an error when it is not a JSON array
/// of strings.
pub fn aggregation_roles(meta: &ObjectMeta) -> Result<Option<Vec<String>>, Error> {
    let Some(raw) = annotation(meta, AGGREGATION_ROLES_ANNOTATION) else {
        return Ok(None);
    };
    serde_json::from_str(raw)
        .map(Some)
        .map_err(|source| Error::Annotation {
            key: AGGREGATION_ROLES_ANNOTATION,
            value: raw.to_owned(),
            message: source.to_string(),
        })
}

/// Sets the `iam.kubesphere.io/aggregation-roles` annotation to `names`.
pub fn set_aggregation_roles<S: AsRef<str>>(meta: &mut ObjectMeta, names: &[S]) {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    // Serializing a list of strings cannot fail.
    let value = serde_json::to_string(&names).unwrap_or_default();
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(AGGREGATION_ROLES_ANNOTATION.to_owned(), value);
}
