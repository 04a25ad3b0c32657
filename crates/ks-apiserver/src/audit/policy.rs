//! Which requests are audited, at what level, and what is kept out of
//! their records.
//!
//! The rules, and where they come from:
//! - health probes (`/healthz`, `/livez`, `/readyz` and their subpaths)
//!   are not audited, as Kubernetes' recommended policies leave them out;
//! - `/oauth/*` carries passwords and tokens in its bodies and query
//!   strings: its bodies are never captured and its `requestURI` is the
//!   path alone;
//! - objects that hold credentials are audited at `Metadata` only, as
//!   Kubernetes' recommended policy does for Secrets, ConfigMaps and
//!   TokenReviews: core `secrets` and `configmaps` (KubeSphere keeps
//!   passwords in its `kubesphere-config`), `tokenreviews`, the
//!   `serviceaccounts/token` subresource (its response is a token),
//!   KubeSphere's `users` (their `spec.password`) and any `kubeconfig`
//!   subresource (its response holds credentials);
//! - request and response objects are kept for resource requests only
//!   (Kubernetes' levels say so), never for long-running ones
//!   ([`is_long_running`]), which are not buffered.

use http::HeaderMap;
use ks_request_info::RequestInfo;

use super::AuditLevel;
use crate::context::RequestRecord;

/// What the audit layer does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The level the request is recorded at (never `None`).
    pub(crate) level: AuditLevel,
    /// Record the path only, not the query string.
    pub(crate) path_only: bool,
    /// A watch, a stream or an upgrade: events at header time and at the
    /// end; nothing buffered.
    pub(crate) long_running: bool,
    /// Capture the request body: to record it, or to learn the name of an
    /// object being created.
    pub(crate) capture_request: bool,
    /// Capture the response body to record it.
    pub(crate) capture_response: bool,
    /// A failure response may be read for its Status (reason, message).
    pub(crate) read_failure_status: bool,
}

/// How the audit layer treats `record` when the configured level is
/// `configured`; `None` when the request is not audited.
pub(crate) fn plan(
    record: &RequestRecord,
    headers: &HeaderMap,
    configured: AuditLevel,
) -> Option<Plan> {
    if configured == AuditLevel::None {
        return None;
    }
    let raw_path = record.request_uri.split('?').next().unwrap_or_default();
    if is_health_probe(raw_path) || is_health_probe(&record.info.path) {
        return None;
    }
    let oauth = is_oauth(raw_path) || is_oauth(&record.info.path);
    let info = &record.info;
    let long_running = is_long_running(info, headers);
    let secret = oauth || holds_credentials(info);
    let level = if secret {
        configured.min(AuditLevel::Metadata)
    } else {
        configured
    };
    let objects = info.is_resource_request && !long_running && !secret;
    Some(Plan {
        level,
        path_only: oauth,
        long_running,
        capture_request: info.is_resource_request
            && !long_running
            && !oauth
            && ((objects && level >= AuditLevel::Request) || info.verb == "create"),
        capture_response: objects && level >= AuditLevel::RequestResponse,
        read_failure_status: !oauth && !long_running,
    })
}

/// `/healthz`, `/livez`, `/readyz`, with or without a subpath.
fn is_health_probe(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"].iter().any(|probe| {
        path.strip_prefix(probe)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// `/oauth` and everything under it (however many leading slashes).
fn is_oauth(path: &str) -> bool {
    let rest = path.trim_start_matches('/');
    rest.strip_prefix("oauth")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

/// Whether the request's objects may hold credentials.
fn holds_credentials(info: &RequestInfo<'_>) -> bool {
    if !info.is_resource_request {
        return false;
    }
    let (group, resource, subresource) = (&*info.api_group, &*info.resource, &*info.subresource);
    matches!(
        (group, resource, subresource),
        ("", "secrets" | "configmaps", _)
            | ("", "serviceaccounts", "token")
            | ("authentication.k8s.io", "tokenreviews", _)
            | ("iam.kubesphere.io", "users", _)
    ) || subresource == "kubeconfig"
}

/// Whether a request is long-running, as Kubernetes' default check
/// decides: the verbs `watch` and `proxy`, the subresources `attach`,
/// `exec`, `proxy`, `log` and `portforward`, plus any protocol upgrade
/// (WebSocket). Such requests are not buffered and not timed as latency.
pub fn is_long_running(info: &RequestInfo<'_>, headers: &HeaderMap) -> bool {
    matches!(&*info.verb, "watch" | "proxy")
        || (info.is_resource_request
            && matches!(
                &*info.subresource,
                "attach" | "exec" | "proxy" | "log" | "portforward"
            ))
        || headers.contains_key(http::header::UPGRADE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ks_request_info::Resolver;

    fn record(method: &str, uri: &str) -> RequestRecord {
        let info = Resolver::default().parse(method, uri).unwrap().into_owned();
        RequestRecord::new(
            "id".into(),
            method.parse().unwrap(),
            uri.into(),
            Vec::new(),
            String::new(),
            info,
        )
    }

    fn plan_of(method: &str, uri: &str, level: AuditLevel) -> Option<Plan> {
        plan(&record(method, uri), &HeaderMap::new(), level)
    }

    #[test]
    fn health_probes_are_not_audited() {
        for path in ["/healthz", "/livez", "/readyz", "/readyz/ping", "/healthz/"] {
            assert_eq!(
                plan_of("GET", path, AuditLevel::RequestResponse),
                None,
                "{path}"
            );
        }
        for path in ["/healthzz", "/version", "/api"] {
            assert!(
                plan_of("GET", path, AuditLevel::Metadata).is_some(),
                "{path}"
            );
        }
    }

    #[test]
    fn level_none_audits_nothing() {
        assert_eq!(plan_of("GET", "/api/v1/pods", AuditLevel::None), None);
    }

    #[test]
    fn credentials_are_metadata_only() {
        for (method, path) in [
            ("POST", "/api/v1/namespaces/a/secrets"),
            ("GET", "/api/v1/namespaces/a/secrets/s"),
            ("PUT", "/api/v1/namespaces/a/configmaps/c"),
            ("POST", "/api/v1/namespaces/a/serviceaccounts/sa/token"),
            ("POST", "/apis/authentication.k8s.io/v1/tokenreviews"),
            ("PUT", "/apis/iam.kubesphere.io/v1alpha2/users/bob"),
            (
                "PUT",
                "/kapis/iam.kubesphere.io/v1alpha2/users/bob/password",
            ),
            (
                "GET",
                "/kapis/resources.kubesphere.io/v1alpha2/users/bob/kubeconfig",
            ),
            ("POST", "/clusters/member/api/v1/namespaces/a/secrets"),
        ] {
            let p = plan_of(method, path, AuditLevel::RequestResponse).unwrap();
            assert_eq!(p.level, AuditLevel::Metadata, "{path}");
            assert!(!p.capture_response, "{path}");
            // Creating still reads the name, never records the object.
            assert_eq!(p.capture_request, method == "POST", "{path}");
        }
        let p = plan_of(
            "PUT",
            "/api/v1/namespaces/a/pods/p",
            AuditLevel::RequestResponse,
        )
        .unwrap();
        assert_eq!(p.level, AuditLevel::RequestResponse);
        assert!(p.capture_request && p.capture_response);
    }

    #[test]
    fn oauth_records_neither_bodies_nor_queries() {
        for path in ["/oauth/token", "/oauth/authorize?client_id=x&password=p"] {
            let p = plan_of("POST", path, AuditLevel::RequestResponse).unwrap();
            assert_eq!(p.level, AuditLevel::Metadata, "{path}");
            assert!(
                p.path_only && !p.capture_request && !p.capture_response && !p.read_failure_status,
                "{path}"
            );
        }
        assert!(
            !plan_of("GET", "/oauthx", AuditLevel::Metadata)
                .unwrap()
                .path_only
        );
    }

    #[test]
    fn long_running_requests_are_not_buffered() {
        for path in [
            "/api/v1/namespaces/a/pods?watch=true",
            "/api/v1/watch/namespaces/a/pods",
            "/api/v1/namespaces/a/pods/p/log",
            "/api/v1/namespaces/a/pods/p/exec",
        ] {
            let p = plan_of("GET", path, AuditLevel::RequestResponse).unwrap();
            assert!(p.long_running, "{path}");
            assert!(!p.capture_request && !p.capture_response, "{path}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(http::header::UPGRADE, "websocket".parse().unwrap());
        let p = plan(
            &record("GET", "/api/v1/namespaces/a/pods"),
            &headers,
            AuditLevel::Metadata,
        )
        .unwrap();
        assert!(p.long_running);
    }

    #[test]
    fn objects_only_for_resource_requests_at_their_levels() {
        let p = plan_of("POST", "/api/v1/namespaces/a/pods", AuditLevel::Metadata).unwrap();
        assert!(
            p.capture_request && !p.capture_response,
            "create reads the name"
        );
        let p = plan_of("PUT", "/api/v1/namespaces/a/pods/p", AuditLevel::Metadata).unwrap();
        assert!(!p.capture_request);
        let p = plan_of("PUT", "/api/v1/namespaces/a/pods/p", AuditLevel::Request).unwrap();
        assert!(p.capture_request && !p.capture_response);
        let p = plan_of("POST", "/version", AuditLevel::RequestResponse).unwrap();
        assert!(!p.capture_request && !p.capture_response);
    }
}
