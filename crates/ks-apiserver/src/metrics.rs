//! `/metrics`: the server's counters in Prometheus' text format.
//!
//! [`Metrics`] holds them; [`MetricsLayer`] observes every request that
//! passes it; [`Metrics::handler`] serves `GET /metrics` (the filter chain
//! authorizes that non-resource URL, not this module). The request
//! metrics are kube-apiserver's (`k8s.io/apiserver`
//! `pkg/endpoints/metrics`), with its names, labels, buckets and verb and
//! scope rules, so its dashboards and SLO queries work unchanged:
//!
//! | metric | labels |
//! | --- | --- |
//! | `apiserver_request_total` | `verb, dry_run, group, version, resource, subresource, scope, component, code` |
//! | `apiserver_request_duration_seconds` | `verb, dry_run, group, version, resource, subresource, scope, component` |
//! | `apiserver_longrunning_requests` | `verb, group, version, resource, subresource, scope, component` |
//! | `authentication_attempts_total` | `result, authenticator` |
//! | `ks_authorization_decisions_total` | `decision` (`allow`, `deny`) |
//! | `ks_login_total` | `result` |
//! | `ks_audit_events_dropped_total`, `ks_audit_webhook_failures_total`, `ks_audit_webhook_events_dropped_total` | |
//!
//! Two departures from kube-apiserver: the text encoder names every
//! counter `..._total`, so Kubernetes' `authentication_attempts` is
//! `authentication_attempts_total` here; and a long-running request (a
//! watch, a log stream) is counted and timed when its headers go out, so
//! its duration is the time to establish it, never how long it streamed.
//!
//! Label values come from a bounded set: verbs, scopes and codes are
//! static strings or small numbers, and a resource's
//! group/version/resource/subresource are interned once, for at most
//! [`MAX_RESOURCES`] distinct resources (and only those a
//! [`Metrics::with_resource_filter`] admits); any other resource is
//! counted with those four labels empty, so clients cannot create series
//! at will. The request path costs two hash lookups under read locks and
//! no allocation once a series exists.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::response::IntoResponse as _;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderMap, Method, Request, Response, Uri};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use ks_request_info::RequestInfo;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabel, EncodeLabelSet, EncodeMetric as _, LabelSetEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rustc_hash::{FxHashMap, FxHasher};

use crate::audit::{AuditStats, is_long_running};
use crate::context::RequestRecord;

/// The `Content-Type` of [`Metrics::render`]'s output (Prometheus text
/// format 0.0.4, what kube-apiserver serves).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// `apiserver_request_duration_seconds` buckets, as kube-apiserver's.
pub const REQUEST_DURATION_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// The most distinct (group, version, resource, subresource) label sets
/// kept; requests for others are counted with those labels empty.
pub const MAX_RESOURCES: usize = 1024;

/// The `component` label (kube-apiserver's `APIServerComponent`).
const COMPONENT: &str = "apiserver";

/// A resource as the metrics see it, for [`Metrics::with_resource_filter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceKey<'a> {
    /// The API group (empty for the core group).
    pub group: &'a str,
    /// The API version.
    pub version: &'a str,
    /// The resource.
    pub resource: &'a str,
    /// The subresource (often empty).
    pub subresource: &'a str,
}

/// Decides whether a resource gets its own label values.
pub type ResourceFilter = Arc<dyn Fn(ResourceKey<'_>) -> bool + Send + Sync>;

/// The outcome of one authentication attempt (`authentication_attempts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthnResult {
    /// Credentials were presented and accepted.
    Success,
    /// Credentials were refused (or none were presented).
    Failure,
    /// The authenticator could not decide (an internal error).
    Error,
}

impl AuthnResult {
    fn as_str(self) -> &'static str {
        match self {
            AuthnResult::Success => "success",
            AuthnResult::Failure => "failure",
            AuthnResult::Error => "error",
        }
    }
}

/// The outcome of a password login (`ks_login_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginResult {
    /// Logged in.
    Success,
    /// Wrong user name or password.
    Failure,
    /// Refused because the user is locked after failed logins.
    Locked,
    /// The login could not be checked (an internal error).
    Error,
}

impl LoginResult {
    fn as_str(self) -> &'static str {
        match self {
            LoginResult::Success => "success",
            LoginResult::Failure => "failure",
            LoginResult::Locked => "locked",
            LoginResult::Error => "error",
        }
    }
}

fn label(encoder: &mut LabelSetEncoder<'_>, key: &str, value: &str) -> fmt::Result {
    EncodeLabel::encode(&(key, value), encoder.encode_label())
}

/// Interned group, version, resource and subresource label values.
#[derive(Debug)]
struct ResourceNames {
    group: Box<str>,
    version: Box<str>,
    resource: Box<str>,
    subresource: Box<str>,
}

impl ResourceNames {
    fn is(&self, key: ResourceKey<'_>) -> bool {
        *self.group == *key.group
            && *self.version == *key.version
            && *self.resource == *key.resource
            && *self.subresource == *key.subresource
    }
}

/// An interned [`ResourceNames`]: equal and hashed by identity, which
/// interning makes the same as by value.
#[derive(Clone, Debug)]
struct ResourceLabels(Arc<ResourceNames>);

impl PartialEq for ResourceLabels {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ResourceLabels {}

impl Hash for ResourceLabels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state);
    }
}

/// The labels of a request but its code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RouteKey {
    verb: &'static str,
    dry_run: &'static str,
    resource: ResourceLabels,
    scope: &'static str,
}

impl RouteKey {
    fn encode_labels(&self, encoder: &mut LabelSetEncoder<'_>, dry_run: bool) -> fmt::Result {
        let names = &*self.resource.0;
        label(encoder, "verb", self.verb)?;
        if dry_run {
            label(encoder, "dry_run", self.dry_run)?;
        }
        label(encoder, "group", &names.group)?;
        label(encoder, "version", &names.version)?;
        label(encoder, "resource", &names.resource)?;
        label(encoder, "subresource", &names.subresource)?;
        label(encoder, "scope", self.scope)?;
        label(encoder, "component", COMPONENT)
    }
}

impl EncodeLabelSet for RouteKey {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        self.encode_labels(encoder, true)
    }
}

/// `apiserver_request_total`'s labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RequestKey {
    route: RouteKey,
    code: u16,
}

impl EncodeLabelSet for RequestKey {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        self.route.encode_labels(encoder, true)?;
        EncodeLabel::encode(&("code", self.code), encoder.encode_label())
    }
}

/// `apiserver_longrunning_requests`' labels (no `dry_run`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct LongRunningKey(RouteKey);

impl EncodeLabelSet for LongRunningKey {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        self.0.encode_labels(encoder, false)
    }
}

/// A single static label.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct StaticLabel(&'static str, &'static str);

impl EncodeLabelSet for StaticLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        label(encoder, self.0, self.1)
    }
}

/// `authentication_attempts`' labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct AuthnKey {
    result: &'static str,
    authenticator: &'static str,
}

impl EncodeLabelSet for AuthnKey {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        label(encoder, "result", self.result)?;
        label(encoder, "authenticator", self.authenticator)
    }
}

/// The resources seen so far, each interned once.
struct ResourceInterner {
    by_hash: RwLock<FxHashMap<u64, Vec<ResourceLabels>>>,
    count: AtomicUsize,
    filter: Option<ResourceFilter>,
    empty: ResourceLabels,
}

impl ResourceInterner {
    fn new(filter: Option<ResourceFilter>) -> Self {
        ResourceInterner {
            by_hash: RwLock::new(FxHashMap::default()),
            count: AtomicUsize::new(0),
            filter,
            empty: ResourceLabels(Arc::new(ResourceNames {
                group: "".into(),
                version: "".into(),
                resource: "".into(),
                subresource: "".into(),
            })),
        }
    }

    fn get(&self, info: &RequestInfo<'_>) -> ResourceLabels {
        if !info.is_resource_request {
            return self.empty.clone();
        }
        let key = ResourceKey {
            group: &info.api_group,
            version: &info.api_version,
            resource: &info.resource,
            subresource: &info.subresource,
        };
        let mut hasher = FxHasher::default();
        (key.group, key.version, key.resource, key.subresource).hash(&mut hasher);
        let hash = hasher.finish();
        let find = |map: &FxHashMap<u64, Vec<ResourceLabels>>| {
            map.get(&hash)
                .and_then(|bucket| bucket.iter().find(|l| l.0.is(key)).cloned())
        };
        if let Some(found) = find(&self.by_hash.read().unwrap_or_else(PoisonError::into_inner)) {
            return found;
        }
        if self.count.load(Ordering::Relaxed) >= MAX_RESOURCES
            || self.filter.as_ref().is_some_and(|admit| !admit(key))
        {
            return self.empty.clone();
        }
        let mut map = self.by_hash.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = find(&map) {
            return found;
        }
        if self.count.load(Ordering::Relaxed) >= MAX_RESOURCES {
            return self.empty.clone();
        }
        let labels = ResourceLabels(Arc::new(ResourceNames {
            group: key.group.into(),
            version: key.version.into(),
            resource: key.resource.into(),
            subresource: key.subresource.into(),
        }));
        map.entry(hash).or_default().push(labels.clone());
        self.count.fetch_add(1, Ordering::Relaxed);
        labels
    }
}

/// The audit counters, read at each scrape.
#[derive(Debug)]
struct AuditCollector(Arc<OnceLock<Arc<AuditStats>>>);

impl Collector for AuditCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let stats = self.0.get();
        let read = |f: fn(&AuditStats) -> u64| stats.map_or(0, |s| f(s));
        for (name, help, value) in [
            (
                "ks_audit_events_dropped",
                "Audit events dropped because the audit queue was full",
                read(AuditStats::dropped),
            ),
            (
                "ks_audit_webhook_failures",
                "Audit webhook POSTs that failed",
                read(AuditStats::webhook_failures),
            ),
            (
                "ks_audit_webhook_events_dropped",
                "Audit events the audit webhook never received",
                read(AuditStats::webhook_dropped),
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// The in-process controllers' metrics, once they run.
#[derive(Debug)]
struct ControllersCollector(Arc<OnceLock<ks_controller_manager::Metrics>>);

impl Collector for ControllersCollector {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> fmt::Result {
        match self.0.get() {
            Some(metrics) => metrics.encode(encoder),
            None => Ok(()),
        }
    }
}

struct Inner {
    registry: Registry,
    requests: Family<RequestKey, Counter>,
    durations: Family<RouteKey, Histogram, fn() -> Histogram>,
    long_running: Family<LongRunningKey, Gauge>,
    authentication: Family<AuthnKey, Counter>,
    authorization: Family<StaticLabel, Counter>,
    logins: Family<StaticLabel, Counter>,
    audit: Arc<OnceLock<Arc<AuditStats>>>,
    controllers: Arc<OnceLock<ks_controller_manager::Metrics>>,
    resources: ResourceInterner,
}

/// The server's metrics. Cloning shares them.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(REQUEST_DURATION_BUCKETS)
}

impl Metrics {
    /// Metrics that label any resource (up to [`MAX_RESOURCES`]).
    pub fn new() -> Self {
        Metrics::build(None)
    }

    /// Metrics that label only the resources `filter` admits (say, those
    /// the API serves); requests for others are counted with empty
    /// resource labels. The filter runs once per new resource.
    pub fn with_resource_filter(
        filter: impl Fn(ResourceKey<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Metrics::build(Some(Arc::new(filter)))
    }

    fn build(filter: Option<ResourceFilter>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestKey, Counter>::default();
        let durations = Family::<RouteKey, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let long_running = Family::<LongRunningKey, Gauge>::default();
        let authentication = Family::<AuthnKey, Counter>::default();
        let authorization = Family::<StaticLabel, Counter>::default();
        let logins = Family::<StaticLabel, Counter>::default();
        let audit = Arc::new(OnceLock::new());
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component",
            durations.clone(),
        );
        registry.register(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component",
            long_running.clone(),
        );
        registry.register(
            "authentication_attempts",
            "Counter of authenticated attempts",
            authentication.clone(),
        );
        registry.register(
            "ks_authorization_decisions",
            "Counter of authorization decisions, allow or deny",
            authorization.clone(),
        );
        registry.register(
            "ks_login",
            "Counter of password logins by result",
            logins.clone(),
        );
        registry.register_collector(Box::new(AuditCollector(Arc::clone(&audit))));
        let controllers = Arc::new(OnceLock::new());
        registry.register_collector(Box::new(ControllersCollector(Arc::clone(&controllers))));
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                durations,
                long_running,
                authentication,
                authorization,
                logins,
                audit,
                controllers,
                resources: ResourceInterner::new(filter),
            }),
        }
    }

    /// Reports the auditor's counters from now on (the first call wins).
    pub fn observe_audit(&self, stats: Arc<AuditStats>) {
        let _ = self.inner.audit.set(stats);
    }

    /// Reports the in-process controllers' metrics from now on (the first
    /// call wins).
    pub fn observe_controllers(&self, metrics: ks_controller_manager::Metrics) {
        let _ = self.inner.controllers.set(metrics);
    }

    /// Counts one authentication attempt by `authenticator` (a static
    /// name such as `token`, `basic`, `x509`, `anonymous`).
    pub fn authentication_attempt(&self, result: AuthnResult, authenticator: &'static str) {
        self.inner
            .authentication
            .get_or_create(&AuthnKey {
                result: result.as_str(),
                authenticator,
            })
            .inc();
    }

    /// Counts one authorization decision.
    pub fn authorization_decision(&self, allowed: bool) {
        let decision = if allowed { "allow" } else { "deny" };
        self.inner
            .authorization
            .get_or_create(&StaticLabel("decision", decision))
            .inc();
    }

    /// Counts one password login.
    pub fn login(&self, result: LoginResult) {
        self.inner
            .logins
            .get_or_create(&StaticLabel("result", result.as_str()))
            .inc();
    }

    /// The layer that observes every request passing it.
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer {
            metrics: self.clone(),
        }
    }

    /// The labels of a request (all but its code).
    fn route(
        &self,
        method: &Method,
        headers: &HeaderMap,
        uri: &Uri,
        info: Option<&RequestInfo<'_>>,
    ) -> RouteKey {
        let Some(info) = info else {
            return RouteKey {
                verb: method_verb(method, headers, ""),
                dry_run: "",
                resource: self.inner.resources.empty.clone(),
                scope: "",
            };
        };
        let scope = clean_scope(info);
        let mut verb = method_verb(method, headers, scope);
        if info.verb == "watch" {
            verb = "WATCH";
        }
        if info.is_resource_request
            && matches!(
                &*info.subresource,
                "log" | "exec" | "portforward" | "attach" | "proxy"
            )
        {
            verb = "CONNECT";
        }
        RouteKey {
            verb,
            dry_run: dry_run(uri),
            resource: self.inner.resources.get(info),
            scope,
        }
    }

    fn observe(&self, route: &RouteKey, code: u16, seconds: f64) {
        self.inner
            .requests
            .get_or_create(&RequestKey {
                route: route.clone(),
                code,
            })
            .inc();
        self.inner.durations.get_or_create(route).observe(seconds);
    }

    /// Every metric in Prometheus' text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.inner.registry)
            .is_err()
        {
            out.clear();
        }
        out
    }

    /// The `/metrics` answer: [`Metrics::render`] with its content type.
    pub fn response(&self) -> Response<Body> {
        ([(http::header::CONTENT_TYPE, CONTENT_TYPE)], self.render()).into_response()
    }

    /// The handler of `GET /metrics`, for
    /// `router.route("/metrics", metrics.handler())`.
    pub fn handler(&self) -> axum::routing::MethodRouter {
        let metrics = self.clone();
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { metrics.response() }
        })
    }
}

/// Kubernetes' `CleanScope`: `resource` when a request names an object
/// (or creates one), `namespace`, `cluster`, or empty for non-resource
/// requests.
fn clean_scope(info: &RequestInfo<'_>) -> &'static str {
    if !info.name.is_empty() || info.verb == "create" {
        "resource"
    } else if !info.namespace.is_empty() {
        "namespace"
    } else if info.is_resource_request {
        "cluster"
    } else {
        ""
    }
}

/// Kubernetes' `CanonicalVerb` and `CleanVerb` for a method: `GET` of a
/// collection is `LIST`, a server-side apply `PATCH` is `APPLY`, unknown
/// methods are `other`.
fn method_verb(method: &Method, headers: &HeaderMap, scope: &str) -> &'static str {
    match *method {
        Method::GET | Method::HEAD if scope == "resource" || scope.is_empty() => "GET",
        Method::GET | Method::HEAD => "LIST",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => {
            let apply = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/apply-patch+yaml"));
            if apply { "APPLY" } else { "PATCH" }
        }
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Kubernetes' `cleanDryRun`: empty, `All` (the one valid value) or
/// `invalid`.
fn dry_run(uri: &Uri) -> &'static str {
    let Some(query) = uri.query().filter(|q| q.contains("dryRun")) else {
        return "";
    };
    let mut seen = false;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "dryRun" {
            if value != "All" {
                return "invalid";
            }
            seen = true;
        }
    }
    if seen { "All" } else { "" }
}

/// Observes the requests of the service it wraps.
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    metrics: Metrics,
}

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> MetricsService<S> {
        MetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`MetricsLayer`] makes.
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Metrics,
}

impl<S> tower::Service<Request<Body>> for MetricsService<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let started = Instant::now();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let record = request.extensions().get::<Arc<RequestRecord>>();
        let info = record.map(|r| &r.info);
        let route = self
            .metrics
            .route(request.method(), request.headers(), request.uri(), info);
        let long_running = info.is_some_and(|info| is_long_running(info, request.headers()));
        let metrics = self.metrics.clone();
        let future = inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            let code = response.status().as_u16();
            metrics.observe(&route, code, started.elapsed().as_secs_f64());
            if !long_running {
                return Ok(response);
            }
            let gauge = metrics
                .inner
                .long_running
                .get_or_create(&LongRunningKey(route))
                .clone();
            gauge.inc();
            if let Some(session) = response
                .extensions()
                .get::<ks_kube_api::api::WebSocketSession>()
                .cloned()
            {
                // Upgraded: counted until the socket closes.
                let in_flight = InFlight(gauge);
                tokio::spawn(async move {
                    session.closed().await;
                    drop(in_flight);
                });
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            Ok(Response::from_parts(
                parts,
                Body::new(GaugedBody {
                    inner: body,
                    _gauge: InFlight(gauge),
                }),
            ))
        })
    }
}

/// A long-running request in flight: leaves the gauge when dropped.
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A long-running response's body, counted in the gauge until it ends.
struct GaugedBody {
    inner: Body,
    _gauge: InFlight,
}

impl HttpBody for GaugedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ks_request_info::Resolver;

    fn route_of(metrics: &Metrics, method: &str, uri: &str, headers: &HeaderMap) -> RouteKey {
        let method: Method = method.parse().unwrap();
        let uri: Uri = uri.parse().unwrap();
        let info = Resolver::default().parse_uri(&method, &uri).unwrap();
        metrics.route(&method, headers, &uri, Some(&info))
    }

    fn verb_and_scope(method: &str, uri: &str) -> (&'static str, &'static str) {
        let r = route_of(&Metrics::new(), method, uri, &HeaderMap::new());
        (r.verb, r.scope)
    }

    #[test]
    fn verbs_and_scopes_follow_kubernetes() {
        let cases = [
            ("GET", "/api/v1/namespaces/a/pods", ("LIST", "namespace")),
            ("GET", "/api/v1/pods", ("LIST", "cluster")),
            ("GET", "/api/v1/namespaces/a/pods/p", ("GET", "resource")),
            (
                "GET",
                "/api/v1/namespaces/a/pods?watch=true",
                ("WATCH", "namespace"),
            ),
            (
                "GET",
                "/api/v1/watch/namespaces/a/pods",
                ("WATCH", "namespace"),
            ),
            ("POST", "/api/v1/namespaces/a/pods", ("POST", "resource")),
            ("PUT", "/api/v1/namespaces/a/pods/p", ("PUT", "resource")),
            (
                "DELETE",
                "/api/v1/namespaces/a/pods",
                ("DELETE", "namespace"),
            ),
            (
                "GET",
                "/api/v1/namespaces/a/pods/p/log",
                ("CONNECT", "resource"),
            ),
            (
                "POST",
                "/api/v1/namespaces/a/pods/p/exec",
                ("CONNECT", "resource"),
            ),
            ("GET", "/version", ("GET", "")),
            ("OPTIONS", "/api/v1/pods", ("other", "cluster")),
        ];
        for (method, uri, want) in cases {
            assert_eq!(verb_and_scope(method, uri), want, "{method} {uri}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            "application/apply-patch+yaml".parse().unwrap(),
        );
        let r = route_of(
            &Metrics::new(),
            "PATCH",
            "/api/v1/namespaces/a/pods/p",
            &headers,
        );
        assert_eq!(r.verb, "APPLY");
    }

    #[test]
    fn dry_run_values_are_bounded() {
        for (uri, want) in [
            ("/api/v1/pods", ""),
            ("/api/v1/pods?dryRun=All", "All"),
            ("/api/v1/pods?dryRun=All&dryRun=All", "All"),
            ("/api/v1/pods?dryRun=whatever", "invalid"),
            ("/api/v1/pods?x=dryRun", ""),
        ] {
            assert_eq!(dry_run(&uri.parse().unwrap()), want, "{uri}");
        }
    }

    #[test]
    fn resources_are_interned_and_bounded() {
        let metrics = Metrics::new();
        let a = route_of(
            &metrics,
            "GET",
            "/api/v1/namespaces/a/pods",
            &HeaderMap::new(),
        );
        let b = route_of(
            &metrics,
            "GET",
            "/api/v1/namespaces/b/pods/x",
            &HeaderMap::new(),
        );
        assert!(Arc::ptr_eq(&a.resource.0, &b.resource.0));
        for i in 0..MAX_RESOURCES + 10 {
            route_of(
                &metrics,
                "GET",
                &format!("/api/v1/junk{i}"),
                &HeaderMap::new(),
            );
        }
        let late = route_of(
            &metrics,
            "GET",
            "/apis/apps/v1/deployments",
            &HeaderMap::new(),
        );
        assert_eq!(&*late.resource.0.resource, "");
        assert_eq!(
            metrics.inner.resources.count.load(Ordering::Relaxed),
            MAX_RESOURCES
        );
    }

    #[test]
    fn a_filter_admits_only_known_resources() {
        let metrics = Metrics::with_resource_filter(|k| k.resource == "pods");
        let pods = route_of(&metrics, "GET", "/api/v1/pods", &HeaderMap::new());
        let junk = route_of(&metrics, "GET", "/api/v1/junk", &HeaderMap::new());
        assert_eq!(&*pods.resource.0.resource, "pods");
        assert_eq!(&*junk.resource.0.resource, "");
    }

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::new();
        let route = route_of(
            &metrics,
            "GET",
            "/api/v1/namespaces/a/pods",
            &HeaderMap::new(),
        );
        metrics.observe(&route, 200, 0.003);
        metrics.authentication_attempt(AuthnResult::Success, "token");
        metrics.authorization_decision(false);
        metrics.login(LoginResult::Locked);
        let text = metrics.render();
        for line in [
            r#"apiserver_request_total{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver",code="200"} 1"#,
            r#"apiserver_request_duration_seconds_bucket{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver",le="0.005"} 1"#,
            r#"apiserver_request_duration_seconds_count{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="namespace",component="apiserver"} 1"#,
            r#"authentication_attempts_total{result="success",authenticator="token"} 1"#,
            r#"ks_authorization_decisions_total{decision="deny"} 1"#,
            r#"ks_login_total{result="locked"} 1"#,
            "ks_audit_events_dropped_total 0",
            "ks_audit_webhook_failures_total 0",
            "# TYPE apiserver_request_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
    }
}
