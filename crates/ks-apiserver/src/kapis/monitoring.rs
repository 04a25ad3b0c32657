//! `monitoring.kubesphere.io/v1alpha3`: the counts of KubeSphere's
//! monitoring API that come from objects, not from a metrics backend.
//!
//! KubeSphere 3.4 (`pkg/kapis/monitoring/v1alpha3/handler.go`,
//! `pkg/models/monitoring/monitoring.go`) computes two of its answers from
//! its informers, and the console's dashboard and workspace overview read
//! them:
//!
//! - `GET /kapis/monitoring.kubesphere.io/v1alpha3/kubesphere`
//!   ([`KUBESPHERE_COUNTS`]): clusters (at least 1: the host), workspace
//!   templates, users, app templates (0: ks-rs has no OpenPitrix). Like
//!   KubeSphere, every query parameter (`metrics_filter` included) is
//!   ignored and all four are answered;
//! - `GET .../workspaces/{workspace}?type=statistics`
//!   ([`WORKSPACE_COUNTS`]): the workspace's namespaces, DevOps projects
//!   (0: no DevOps), members (the users the workspace's member list shows)
//!   and workspace roles. A workspace that does not exist has zero of each,
//!   as in KubeSphere.
//!
//! Any other query of the workspace route asks for the named metrics of
//! KubeSphere's Prometheus ([`WORKSPACE_METRICS`], selected by the
//! `metrics_filter` regular expression, unanchored as Go's
//! `regexp.MatchString`). ks-rs has no metrics backend, so each selected
//! metric is answered as KubeSphere answers one its Prometheus could not
//! serve: still `200`, the metric with empty `data` and an `error` string
//! ([`NO_BACKEND`]). A name that is not one of them is left out, as
//! KubeSphere leaves it out.
//!
//! Both routes are authorized by the filter chain like any /kapis route:
//! the first is `list kubesphere` in API group `monitoring.kubesphere.io`
//! at the cluster scope, the second `get workspaces {workspace}` in that
//! group in the workspace (built-in `workspace-regular` and up grant it).
//!
//! The answer is KubeSphere's `Metrics`: `{"results": [{"metric_name",
//! "data": {"resultType": "vector", "result": [{"value": [<unix seconds>,
//! "<count>"], ...}]}}]}`; the count is a string, as Prometheus writes
//! sample values.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use ks_kube_api::ApiError;
use ks_types::meta::WORKSPACE_LABEL;
use serde::Serialize;

use super::catalog::{Entry, Gvr};
use super::iam::users::scoped_users;
use super::query::ObjectView;
use super::{Kapis, bad_request, ok};

/// The API's path prefix.
pub const PREFIX: &str = "/kapis/monitoring.kubesphere.io/v1alpha3";

/// The platform counts `GET .../kubesphere` answers, in KubeSphere's order
/// and with its names (`cluser` is KubeSphere's spelling).
pub const KUBESPHERE_COUNTS: [&str; 4] = [
    "kubesphere_cluser_count",
    "kubesphere_workspace_count",
    "kubesphere_user_count",
    "kubesphere_app_template_count",
];

/// The counts `GET .../workspaces/{workspace}?type=statistics` answers, in
/// KubeSphere's order.
pub const WORKSPACE_COUNTS: [&str; 4] = [
    "workspace_namespace_count",
    "workspace_devops_project_count",
    "workspace_member_count",
    "workspace_role_count",
];

/// The workspace metrics KubeSphere asks its Prometheus for
/// (`pkg/models/monitoring/named_metrics.go`, without the `meter_` ones,
/// which this route skips).
pub const WORKSPACE_METRICS: [&str; 22] = [
    "workspace_cpu_usage",
    "workspace_memory_usage",
    "workspace_memory_usage_wo_cache",
    "workspace_net_bytes_transmitted",
    "workspace_net_bytes_received",
    "workspace_pod_count",
    "workspace_pod_running_count",
    "workspace_pod_succeeded_count",
    "workspace_pod_abnormal_count",
    "workspace_ingresses_extensions_count",
    "workspace_cronjob_count",
    "workspace_pvc_count",
    "workspace_daemonset_count",
    "workspace_deployment_count",
    "workspace_endpoint_count",
    "workspace_hpa_count",
    "workspace_job_count",
    "workspace_statefulset_count",
    "workspace_replicaset_count",
    "workspace_service_count",
    "workspace_secret_count",
    "workspace_pod_abnormal_ratio",
];

/// The namespace metrics KubeSphere asks its Prometheus for
/// (`pkg/models/monitoring/named_metrics.go` `NamespaceMetrics`; the
/// console's project list asks `workspaces/{ws}/namespaces` for the usage
/// column).
pub const NAMESPACE_METRICS: [&str; 27] = [
    "namespace_cpu_usage",
    "namespace_memory_usage",
    "namespace_memory_usage_wo_cache",
    "namespace_net_bytes_transmitted",
    "namespace_net_bytes_received",
    "namespace_pod_count",
    "namespace_pod_running_count",
    "namespace_pod_succeeded_count",
    "namespace_pod_abnormal_count",
    "namespace_pod_abnormal_ratio",
    "namespace_memory_limit_hard",
    "namespace_cpu_limit_hard",
    "namespace_pod_count_hard",
    "namespace_cronjob_count",
    "namespace_pvc_count",
    "namespace_daemonset_count",
    "namespace_deployment_count",
    "namespace_endpoint_count",
    "namespace_hpa_count",
    "namespace_job_count",
    "namespace_statefulset_count",
    "namespace_replicaset_count",
    "namespace_service_count",
    "namespace_secret_count",
    "namespace_configmap_count",
    "namespace_ingresses_extensions_count",
    "namespace_s2ibuilder_count",
];

/// The `error` of a metric that needs a metrics backend.
pub const NO_BACKEND: &str =
    "monitoring is not enabled: ks-rs has no metrics backend (Prometheus) to query";

/// The query parameters the workspace route reads.
pub const WORKSPACE_PARAMETERS: [&str; 2] = ["type", "metrics_filter"];

/// KubeSphere's `Metrics` answer.
#[derive(Debug, Serialize)]
pub struct Metrics {
    /// One entry per metric.
    pub results: Vec<Metric>,
}

/// One metric: its vector, or why there is none.
#[derive(Debug, Serialize)]
pub struct Metric {
    /// The metric's name.
    pub metric_name: &'static str,
    /// The samples (empty for a metric that failed).
    pub data: MetricData,
    /// Why the metric has no data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A metric's samples.
#[derive(Debug, Default, Serialize)]
pub struct MetricData {
    /// `vector` (empty when there are no samples).
    #[serde(rename = "resultType", skip_serializing_if = "str::is_empty")]
    pub result_type: &'static str,
    /// The samples.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub result: Vec<Sample>,
}

/// One sample, with the fields KubeSphere's `MetricValue` always writes
/// (empty for a count).
#[derive(Debug, Serialize)]
pub struct Sample {
    /// `[unix seconds, "value"]`.
    pub value: (i64, String),
    /// Metering fields, always empty here.
    pub min_value: &'static str,
    #[allow(missing_docs)]
    pub max_value: &'static str,
    #[allow(missing_docs)]
    pub avg_value: &'static str,
    #[allow(missing_docs)]
    pub sum_value: &'static str,
    #[allow(missing_docs)]
    pub fee: &'static str,
    #[allow(missing_docs)]
    pub resource_unit: &'static str,
    #[allow(missing_docs)]
    pub currency_unit: &'static str,
}

impl Metric {
    /// A count taken at `now`, or the error that prevented it.
    fn count(metric_name: &'static str, now: i64, count: Result<usize, ApiError>) -> Metric {
        match count {
            Ok(n) => Metric {
                metric_name,
                data: MetricData {
                    result_type: "vector",
                    result: vec![Sample {
                        value: (now, n.to_string()),
                        min_value: "",
                        max_value: "",
                        avg_value: "",
                        sum_value: "",
                        fee: "",
                        resource_unit: "",
                        currency_unit: "",
                    }],
                },
                error: None,
            },
            Err(e) => Metric::failed(metric_name, e.to_string()),
        }
    }

    fn failed(metric_name: &'static str, error: String) -> Metric {
        Metric {
            metric_name,
            data: MetricData::default(),
            error: Some(error),
        }
    }
}

pub(super) fn routes() -> Router<Arc<Kapis>> {
    Router::new()
        .route(&format!("{PREFIX}/kubesphere"), get(kubesphere))
        .route(
            &format!("{PREFIX}/workspaces/{{workspace}}"),
            get(workspace),
        )
        .route(
            &format!("{PREFIX}/workspaces/{{workspace}}/namespaces"),
            get(workspace_namespaces),
        )
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The objects of `gvr` that `keep` accepts, from the catalog when it
/// keeps them, else from the store.
async fn count(kapis: &Kapis, gvr: Gvr, keep: impl Fn(&Entry) -> bool) -> Result<usize, ApiError> {
    let (group, version, plural) = gvr;
    if let Some(collection) = kapis.catalog.collection(group, version, plural) {
        return Ok(collection.with(|iter| iter.filter(|e| keep(e)).count()));
    }
    let stored = kapis
        .app
        .stored_objects(group, version, plural, None)
        .await?;
    Ok((stored.iter())
        .filter_map(|(def, kv)| Entry::from_stored(def, &kv.value))
        .filter(|e| keep(e))
        .count())
}

async fn kubesphere(State(kapis): State<Arc<Kapis>>) -> Response {
    let now = now();
    let clusters = ("cluster.kubesphere.io", "v1alpha1", "clusters");
    let served = (kapis.app.registry.view())
        .get(clusters.0, clusters.1, clusters.2)
        .is_some();
    // KubeSphere counts at least the host cluster, with or without
    // Cluster objects.
    let cluster_count = if served {
        count(&kapis, clusters, |_| true).await.map(|n| n.max(1))
    } else {
        Ok(1)
    };
    let workspaces = ("tenant.kubesphere.io", "v1alpha2", "workspacetemplates");
    let users = ("iam.kubesphere.io", "v1alpha2", "users");
    let results = vec![
        Metric::count(KUBESPHERE_COUNTS[0], now, cluster_count),
        Metric::count(
            KUBESPHERE_COUNTS[1],
            now,
            count(&kapis, workspaces, |_| true).await,
        ),
        Metric::count(
            KUBESPHERE_COUNTS[2],
            now,
            count(&kapis, users, |_| true).await,
        ),
        Metric::count(KUBESPHERE_COUNTS[3], now, Ok(0)),
    ];
    ok(&Metrics { results })
}

async fn workspace(
    State(kapis): State<Arc<Kapis>>,
    Path(workspace): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = match query_pairs(query.as_deref()) {
        Ok(pairs) => pairs,
        Err(response) => return response,
    };
    if param(&pairs, "type") == Some("statistics") {
        return ok(&statistics(&kapis, &workspace).await);
    }
    usage(&pairs, &WORKSPACE_METRICS)
}

/// The usage metrics of a workspace's namespaces: each selected one
/// unavailable (no metrics backend), whatever `resources_filter` names.
async fn workspace_namespaces(RawQuery(query): RawQuery) -> Response {
    match query_pairs(query.as_deref()) {
        Ok(pairs) => usage(&pairs, &NAMESPACE_METRICS),
        Err(response) => response,
    }
}

/// The query's `(name, value)` pairs, or the 400 answer.
fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Response> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| bad_request(format!("the query does not parse: {e}")))
}

/// The first value of parameter `name`.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    (pairs.iter())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The metrics of `known` that `metrics_filter` selects (every one when it
/// is absent or empty), each unavailable.
fn usage(pairs: &[(String, String)], known: &[&'static str]) -> Response {
    let filter = param(pairs, "metrics_filter").filter(|f| !f.is_empty());
    ok(&Metrics {
        results: unavailable(filter.unwrap_or(".*"), known),
    })
}

/// The workspace's counts.
async fn statistics(kapis: &Kapis, workspace: &str) -> Metrics {
    let now = now();
    let in_workspace = |e: &Entry| e.label(WORKSPACE_LABEL) == Some(workspace);
    let namespaces = count(kapis, ("", "v1", "namespaces"), in_workspace).await;
    // The users the workspace's member list shows (KubeSphere counts the
    // bindings labelled with a user instead; a binding ks-rs shares
    // between users counts each once here).
    let filters: BTreeMap<&str, &str> = [("workspace", workspace)].into_iter().collect();
    let bound = (kapis.security.rbac)
        .with_policy(|p| scoped_users(p, &filters))
        .unwrap_or_default();
    let users = ("iam.kubesphere.io", "v1alpha2", "users");
    let members = match kapis
        .catalog
        .count_named(users, bound.keys().map(String::as_str))
    {
        Some(n) => Ok(n),
        None => count(kapis, users, |e| bound.contains_key(e.name())).await,
    };
    // From the authorizer's policy, which holds every WorkspaceRole
    // decoded (the store would decode every workspace's roles per call).
    let roles = Ok((kapis.security.rbac).with_policy(|p| {
        (p.workspace_roles.iter())
            .filter(|r| ks_types::meta::workspace_of(&r.metadata) == Some(workspace))
            .count()
    }));
    Metrics {
        results: vec![
            Metric::count(WORKSPACE_COUNTS[0], now, namespaces),
            Metric::count(WORKSPACE_COUNTS[1], now, Ok(0)),
            Metric::count(WORKSPACE_COUNTS[2], now, members),
            Metric::count(WORKSPACE_COUNTS[3], now, roles),
        ],
    }
}

/// The metrics of `known` that `filter` selects, each with the
/// [`NO_BACKEND`] error. A filter that is not a valid regular expression
/// selects nothing (KubeSphere ignores the compile error the same way).
pub fn unavailable(filter: &str, known: &[&'static str]) -> Vec<Metric> {
    let Ok(filter) = regex::Regex::new(filter) else {
        return Vec::new();
    };
    (known.iter())
        .filter(|m| filter.is_match(m))
        .map(|m| Metric::failed(m, NO_BACKEND.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_kubespheres_vector_with_a_string_value() {
        let metric = Metric::count("kubesphere_user_count", 1_700_000_000, Ok(3));
        let value = serde_json::to_value(&metric).unwrap_or_default();
        assert_eq!(value["metric_name"], "kubesphere_user_count");
        assert_eq!(value["data"]["resultType"], "vector");
        assert_eq!(
            value["data"]["result"][0]["value"],
            serde_json::json!([1_700_000_000, "3"])
        );
        assert_eq!(value["data"]["result"][0]["min_value"], "");
        assert!(value.get("error").is_none());
    }

    #[test]
    fn filters_select_as_an_unanchored_regular_expression() {
        let names = |filter| -> Vec<&str> {
            (unavailable(filter, &WORKSPACE_METRICS).iter())
                .map(|m| m.metric_name)
                .collect()
        };
        assert_eq!(
            names("workspace_cpu_usage|workspace_memory_usage$"),
            ["workspace_cpu_usage", "workspace_memory_usage"]
        );
        assert_eq!(names("memory").len(), 2);
        assert_eq!(names(".*").len(), WORKSPACE_METRICS.len());
        assert!(names("no_such_metric").is_empty());
        assert!(names("(").is_empty());
        let failed =
            serde_json::to_value(unavailable("pod_count$", &WORKSPACE_METRICS)).unwrap_or_default();
        assert_eq!(
            failed,
            serde_json::json!([{"metric_name": "workspace_pod_count", "data": {}, "error": NO_BACKEND}])
        );
    }
}
