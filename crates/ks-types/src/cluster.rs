//! `cluster.kubesphere.io/v1alpha1`: member clusters of a multi-cluster
//! KubeSphere.
//!
//! Follows KubeSphere's Go types in `kubesphere.io/api/cluster/v1alpha1`.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::open_enum::open_enum;
use crate::resource::kind;

/// The API group of this module.
pub const GROUP: &str = "cluster.kubesphere.io";
/// The API version of this module.
pub const VERSION: &str = "v1alpha1";

kind! {
    /// A Kubernetes cluster managed by KubeSphere (the host or a member).
    #[derive(Default)]
    pub struct Cluster {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// Desired state.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub spec: ClusterSpec,
        /// Observed state.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub status: ClusterStatus,
    }
    group = "cluster.kubesphere.io", version = "v1alpha1", plural = "clusters", singular = "cluster", list = ClusterList
}

/// Desired state of a [`Cluster`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Join the cluster as a kubefed member (deprecated by KubeSphere).
    #[serde(
        default,
        skip_serializing_if = "crate::resource::is_false",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub join_federation: bool,
    /// Desired state of the cluster: enabled or not (deprecated by KubeSphere).
    #[serde(
        default,
        skip_serializing_if = "crate::resource::is_false",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub enable: bool,
    /// Provider of the cluster; descriptive only.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub provider: String,
    /// How to connect to the cluster.
    #[serde(default, deserialize_with = "crate::resource::null_as_default")]
    pub connection: Connection,
    /// Expose the member's kube-apiserver through a load balancer when the
    /// connection type is `proxy`.
    #[serde(
        rename = "externalKubeAPIEnabled",
        default,
        skip_serializing_if = "crate::resource::is_false",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub external_kube_api_enabled: bool,
}

open_enum! {
    /// How the host cluster reaches a member cluster.
    pub enum ConnectionType {
        /// Directly, with a kubeconfig and API endpoints.
        Direct = "direct",
        /// Through KubeSphere's tunnel proxy; the agent in the member dials in.
        Proxy = "proxy",
    }
}

/// How to reach a [`Cluster`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Connection {
    /// Connection type: `direct` or `proxy`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<ConnectionType>,
    /// KubeSphere API server endpoint, e.g. `http://10.10.0.11:8080`.
    #[serde(
        rename = "kubesphereAPIEndpoint",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub kubesphere_api_endpoint: String,
    /// Kubernetes API server endpoint, e.g. `https://10.10.0.1:6443`.
    #[serde(
        rename = "kubernetesAPIEndpoint",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub kubernetes_api_endpoint: String,
    /// External Kubernetes API endpoint, set when the API is exposed.
    #[serde(
        rename = "externalKubernetesAPIEndpoint",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub external_kubernetes_api_endpoint: String,
    /// Kubeconfig for the cluster (bytes; base64 on the wire). Required for
    /// `direct` connections.
    #[serde(
        rename = "kubeconfig",
        default,
        skip_serializing_if = "is_empty_bytes",
        deserialize_with = "crate::resource::null_as_default"
    )]
    #[schemars(with = "String", extend("format" = "byte"))]
    pub kubeconfig: ByteString,
    /// Token the member's agent uses to reach the host's proxy.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub token: String,
    /// Port that forwards kube-apiserver traffic (`proxy` connections).
    #[serde(
        rename = "kubernetesAPIServerPort",
        default,
        skip_serializing_if = "crate::resource::is_zero_u16",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub kubernetes_api_server_port: u16,
    /// Port that forwards KubeSphere API traffic (`proxy` connections).
    #[serde(
        rename = "kubesphereAPIServerPort",
        default,
        skip_serializing_if = "crate::resource::is_zero_u16",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub kubesphere_api_server_port: u16,
}

fn is_empty_bytes(b: &ByteString) -> bool {
    b.0.is_empty()
}

open_enum! {
    /// Type of a [`ClusterCondition`].
    pub enum ClusterConditionType {
        /// The agent is initialized and waiting to connect.
        Initialized = "Initialized",
        /// The agent is connected.
        AgentAvailable = "AgentAvailable",
        /// The cluster is a kubefed member.
        Federated = "Federated",
        /// External access to the cluster is ready.
        ExternalAccessReady = "ExternalAccessReady",
        /// The cluster serves requests.
        Ready = "Ready",
        /// The OpenPitrix runtime was created.
        OpenPitrixRuntimeReady = "OpenPitrixRuntimeReady",
        /// The kubeconfig's certificate expires within seven days.
        KubeConfigCertExpiresInSevenDays = "KubeConfigCertExpiresInSevenDays",
        /// KubeSphere's core components are ready on the member.
        KsCoreReady = "KSCoreReady",
    }
}

open_enum! {
    /// Status of a condition, as in Kubernetes.
    pub enum ConditionStatus {
        /// The condition holds.
        True = "True",
        /// The condition does not hold.
        False = "False",
        /// Unknown.
        Unknown = "Unknown",
    }
}

/// One observation of a [`Cluster`]'s state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCondition {
    /// Type of the condition.
    #[serde(rename = "type")]
    pub type_: ClusterConditionType,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// When the condition was last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// When the condition last changed status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason of the last transition.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub reason: String,
    /// Human-readable details.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub message: String,
}

/// Observed state of a [`Cluster`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// Latest observations of the cluster's state.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub conditions: Vec<ClusterCondition>,
    /// Kubernetes git version of the cluster.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub kubernetes_version: String,
    /// KubeSphere version running in the cluster.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub kube_sphere_version: String,
    /// Number of nodes (may lag behind).
    #[serde(
        default,
        skip_serializing_if = "crate::resource::is_zero_i64",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub node_count: i64,
    /// Availability zones of the nodes, e.g. `us-east1-a`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub zones: Vec<String>,
    /// Region of all nodes, e.g. `us-east1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Components enabled in the member cluster.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub configz: BTreeMap<String, bool>,
    /// UID of the cluster's `kube-system` namespace: the cluster's identity.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub uid: String,
}
