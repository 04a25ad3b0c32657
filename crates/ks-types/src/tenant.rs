//! `tenant.kubesphere.io`: workspaces (`v1alpha1`) and workspace templates
//! (`v1alpha2`), which place a workspace on member clusters.
//!
//! Follows KubeSphere's Go types in `kubesphere.io/api/tenant`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::kind;

/// The API group of this module.
pub const GROUP: &str = "tenant.kubesphere.io";

kind! {
    /// A workspace: the tenant unit that groups namespaces, members and
    /// roles.
    #[derive(Default)]
    pub struct Workspace {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// Desired state.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub spec: WorkspaceSpec,
        /// Observed state (no fields yet).
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub status: WorkspaceStatus,
    }
    group = "tenant.kubesphere.io", version = "v1alpha1", plural = "workspaces", singular = "workspace", list = WorkspaceList
}

/// Desired state of a [`Workspace`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceSpec {
    /// Name of the user who manages the workspace.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub manager: String,
    /// Whether network isolation between the workspace's namespaces and the
    /// rest of the cluster is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_isolation: Option<bool>,
}

/// Observed state of a [`Workspace`]; KubeSphere defines no fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkspaceStatus {}

kind! {
    /// A workspace template: the workspace to create and the clusters to
    /// place it on. The workspace controller creates the [`Workspace`] and
    /// its roles from it.
    #[derive(Default)]
    pub struct WorkspaceTemplate {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// Template, placement and per-cluster overrides.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub spec: FederatedWorkspaceSpec,
    }
    group = "tenant.kubesphere.io", version = "v1alpha2", plural = "workspacetemplates", singular = "workspacetemplate", list = WorkspaceTemplateList
}

/// The spec of a [`WorkspaceTemplate`] (Go: `FederatedWorkspaceSpec`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FederatedWorkspaceSpec {
    /// The workspace to create: its metadata and spec.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub template: WorkspaceTemplateSpec,
    /// Which clusters the workspace is placed on.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub placement: GenericPlacementFields,
    /// Per-cluster JSON-patch-like overrides of the template.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub overrides: Vec<GenericOverrideItem>,
}

/// The workspace a template creates: metadata and spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceTemplateSpec {
    /// Metadata of the workspace (labels, annotations).
    #[serde(default, deserialize_with = "crate::resource::null_as_default")]
    #[schemars(schema_with = "embedded_metadata_schema")]
    pub metadata: ObjectMeta,
    /// Spec of the workspace.
    #[serde(default, deserialize_with = "crate::resource::null_as_default")]
    pub spec: WorkspaceSpec,
}

/// Where a workspace template is placed: listed clusters or a selector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenericPlacementFields {
    /// Clusters by name.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub clusters: Vec<GenericClusterReference>,
    /// Clusters by label; an empty selector selects every cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
}

/// A cluster named in a placement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GenericClusterReference {
    /// Cluster name.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub name: String,
}

/// Overrides applied to the template on one cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenericOverrideItem {
    /// Cluster the overrides apply to.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub cluster_name: String,
    /// The overrides.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub cluster_overrides: Vec<ClusterOverride>,
}

/// One override: a JSON-patch operation on the template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClusterOverride {
    /// `add`, `remove` or `replace`; empty means `replace`.
    #[schemars(extend("pattern" = "^(add|remove|replace)?$"))]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub op: String,
    /// JSON pointer into the template, e.g. `/spec/manager`.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub path: String,
    /// The value to set (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// Schema of an embedded `ObjectMeta`: kept whole, since an embedded
/// object's metadata is not the API server's to prune.
fn embedded_metadata_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "Metadata of the workspace (labels, annotations).",
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}
