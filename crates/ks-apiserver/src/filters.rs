//! The filter chain every request passes before it is served, as tower
//! layers in this order:
//!
//! 1. **request info**: the path parsed by ks-request-info (400 when it
//!    cannot be), and the request's [`RequestRecord`];
//! 2. **audit** and **metrics** (the `audit` and `metrics` modules),
//!    which wrap the rest so that 401 and 403 answers are recorded too;
//! 3. **authentication** ([`crate::authn`]): 401 on refused credentials;
//! 4. **impersonation**: `Impersonate-*` headers, each authorized;
//! 5. **authorization** ([`crate::authz`]): public paths for everyone,
//!    everything else for authenticated users that RBAC allows (403
//!    otherwise, with Kubernetes' wording);
//! 6. dispatch: `/oauth`, then the Kubernetes API.
//!
//! The acting user reaches the handlers (and admission) as a
//! [`UserInfo`] request extension.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue};
use ks_kube_api::{ApiError, UserInfo};
use ks_rbac::Attributes;
use ks_request_info::{OwnedRequestInfo, Resolver, ResourceScope};

use crate::authn::login::{LoginError, LoginSource};
use crate::authn::{AUTHENTICATED, Authenticator, AuthnError, UNAUTHENTICATED};
use crate::authz::{Mode, Rbac};
use crate::context::{Connection, Decision, RbacVerdict, RequestRecord};
use crate::internal::MASTERS_GROUP;
use crate::metrics::AuthnResult;

/// Paths anyone may call, authenticated or not: logging in, discovering
/// how to, and health and version probes (KubeSphere's and Kubernetes'
/// public endpoints).
pub const PUBLIC_PATHS: &[&str] = &[
    "/oauth/token",
    "/oauth/authorize",
    "/oauth/.well-known/openid-configuration",
    "/oauth/keys",
    "/oauth/logout",
    "/healthz",
    "/livez",
    "/readyz",
    "/version",
    "/kapis/version",
    "/kapis/config.kubesphere.io/v1alpha2/configs/oauth",
    "/kapis/config.kubesphere.io/v1alpha2/configs/configz",
    "/kapis/config.kubesphere.io/v1alpha2/configs/gpu/kinds",
];

/// Whether `path` (the raw request path) is public.
pub fn is_public(path: &str) -> bool {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    PUBLIC_PATHS.contains(&path)
}

/// The most forwarded addresses kept from `X-Forwarded-For`.
const MAX_FORWARDED: usize = 16;

/// What the filters share.
pub struct Security {
    /// Parses request paths.
    pub resolver: Resolver,
    /// Who is asking.
    pub authenticator: Authenticator,
    /// How requests are authorized.
    pub mode: Mode,
    /// The RBAC authorizer (requests and impersonation checks; unused
    /// under [`Mode::AlwaysAllow`]).
    pub rbac: Arc<Rbac>,
    /// Peers whose `X-Forwarded-For` / `X-Client-IP` are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Where authentication and authorization outcomes are counted.
    pub metrics: crate::metrics::Metrics,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Security {
    fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.contains(&peer)
            || (self.trusted_proxies.is_empty() && peer.is_loopback())
    }

    /// The client's addresses: those a trusted proxy forwarded, then the
    /// peer's.
    fn source_ips(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Vec<IpAddr> {
        let mut ips = Vec::new();
        if let Some(peer) = peer
            && self.trusts(peer)
        {
            for value in headers
                .get_all("x-forwarded-for")
                .iter()
                .chain(headers.get_all("x-client-ip").iter())
                .chain(headers.get_all("x-real-ip").iter())
            {
                let Ok(text) = value.to_str() else { continue };
                for item in text.split(',') {
                    if ips.len() >= MAX_FORWARDED {
                        break;
                    }
                    if let Ok(ip) = item.trim().parse::<IpAddr>()
                        && !ips.contains(&ip)
                    {
                        ips.push(ip);
                    }
                }
            }
        }
        if let Some(peer) = peer
            && !ips.contains(&peer)
        {
            ips.push(peer);
        }
        ips
    }

    /// The decision that needs no policy: everything under
    /// `AlwaysAllow`, and members of `system:masters`.
    fn fast_path(&self, user: &UserInfo) -> Option<Decision> {
        if self.mode == Mode::AlwaysAllow {
            return Some(Decision {
                allowed: true,
                reason: "authorization mode AlwaysAllow".into(),
            });
        }
        if user.groups.iter().any(|g| g == MASTERS_GROUP) {
            return Some(Decision {
                allowed: true,
                reason: format!("member of {MASTERS_GROUP}"),
            });
        }
        None
    }

    /// What the request path does: decides whether `user` may do `info`,
    /// leaving an RBAC decision's reason unrendered.
    pub fn check(&self, info: &OwnedRequestInfo, user: &UserInfo) -> Check {
        if let Some(decision) = self.fast_path(user) {
            return Check::Decided(decision);
        }
        let attrs = Attributes {
            extra: (&user.extra).into(),
            ..Attributes::from_request_info(info, &user.name, &user.groups)
        };
        let verdict = self.rbac.check(&attrs);
        if !verdict.decision.is_allowed()
            && let Some(decision) = self.built_in_grant(&attrs)
        {
            return Check::Decided(decision);
        }
        Check::Rbac(verdict)
    }

    /// Whether `user` may do what `attrs` describe (built for `user`:
    /// handlers that check objects one by one, such as the tenant lists).
    ///
    /// This is the roles' answer alone: KubeSphere's built-in
    /// `authenticated` grants ([`ks_rbac::builtin`]) let a request reach
    /// its route, and the route itself then asks what the roles allow.
    pub fn allows(&self, user: &UserInfo, attrs: &Attributes<'_>) -> bool {
        match self.fast_path(user) {
            Some(decision) => decision.allowed,
            None => self.rbac.check(attrs).decision.is_allowed(),
        }
    }

    /// Decides whether `user` may do `info`: the allow and its reason.
    pub fn authorize(&self, info: &OwnedRequestInfo, user: &UserInfo) -> Decision {
        if let Some(decision) = self.fast_path(user) {
            return decision;
        }
        let attrs = Attributes {
            extra: (&user.extra).into(),
            ..Attributes::from_request_info(info, &user.name, &user.groups)
        };
        let (allowed, reason) = self.rbac.decide(&attrs);
        if !allowed && let Some(decision) = self.built_in_grant(&attrs) {
            return decision;
        }
        Decision { allowed, reason }
    }

    /// What allows a request the roles refused ([`ks_rbac::builtin`]):
    /// KubeSphere's `authenticated` self-service grant, or a read of a
    /// workspace's template that the roles allow as the read of the
    /// workspace itself.
    fn built_in_grant(&self, attrs: &Attributes<'_>) -> Option<Decision> {
        if let Some(grant) = ks_rbac::builtin::authenticated(attrs) {
            return Some(Decision {
                allowed: true,
                reason: grant.reason().to_owned(),
            });
        }
        let read = ks_rbac::builtin::workspace_template_read_as_workspace(attrs)?;
        let (allowed, reason) = self.rbac.decide(&read);
        allowed.then(|| Decision {
            allowed: true,
            reason: format!("{reason} (read of the workspace template as its workspace)"),
        })
    }
}

/// An authorization decision as the request path makes it.
#[derive(Debug)]
pub enum Check {
    /// Decided without the policy, with its reason.
    Decided(Decision),
    /// Decided by RBAC; the reason is rendered when read.
    Rbac(RbacVerdict),
}

impl Check {
    /// Whether the request is allowed.
    pub fn allowed(&self) -> bool {
        match self {
            Check::Decided(d) => d.allowed,
            Check::Rbac(v) => v.decision.is_allowed(),
        }
    }
}

/// The first filter: parses the request and starts its record.
pub async fn request_info(
    State(security): State<Arc<Security>>,
    mut request: Request,
    next: Next,
) -> Response {
    let info = match security.resolver.parse_uri(request.method(), request.uri()) {
        Ok(info) => info.into_owned(),
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
    let peer = request
        .extensions()
        .get::<Connection>()
        .map(|c| c.peer.ip());
    let headers = request.headers();
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(1024)
        .collect();
    let record = Arc::new(RequestRecord::new(
        uuid::Uuid::new_v4().to_string(),
        request.method().clone(),
        request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |p| p.as_str().to_owned(),
        ),
        security.source_ips(headers, peer),
        user_agent,
        info,
    ));
    request.extensions_mut().insert(Arc::clone(&record));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&record.audit_id) {
        response.headers_mut().insert("audit-id", value);
    }
    response
}

fn record_of(request: &Request) -> Result<Arc<RequestRecord>, Response> {
    request
        .extensions()
        .get::<Arc<RequestRecord>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("the request was not parsed").into_response())
}

/// Authentication: sets the request's user, or answers 401.
pub async fn authenticate(
    State(security): State<Arc<Security>>,
    mut request: Request,
    next: Next,
) -> Response {
    let record = match record_of(&request) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let source = LoginSource {
        ip: record
            .source_ips
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        user_agent: record.user_agent.clone(),
    };
    let path = request.uri().path();
    // The token endpoint authenticates its client and grant itself; the
    // console sends its refresh token as a bearer token there, which must
    // not fail the request. Logout with an expired token still succeeds.
    let (token_endpoint, logout) = (path == "/oauth/token", path == "/oauth/logout");
    let connection = request.extensions().get::<Connection>().cloned();
    let result = if token_endpoint {
        Ok((crate::authn::anonymous(), crate::authn::Method::Anonymous))
    } else {
        security
            .authenticator
            .authenticate(request.headers(), connection.as_ref(), &source)
            .await
    };
    let user = match result {
        Ok((user, method)) => {
            if method != crate::authn::Method::Anonymous {
                security
                    .metrics
                    .authentication_attempt(AuthnResult::Success, method.as_str());
            }
            user
        }
        Err(_) if logout => crate::authn::anonymous(),
        Err(e) => {
            let result = match e.status() {
                http::StatusCode::INTERNAL_SERVER_ERROR => AuthnResult::Error,
                _ => AuthnResult::Failure,
            };
            security.metrics.authentication_attempt(result, "request");
            return authn_error(&e).into_response();
        }
    };
    record.set_user(user.clone());
    request.extensions_mut().insert(user);
    next.run(request).await
}

/// The answer to refused credentials: 401 (the reason in the message,
/// never the credential), 429 for a locked user.
pub fn authn_error(e: &AuthnError) -> ApiError {
    match e {
        AuthnError::Login(LoginError::Locked { retry_after }) => ApiError::too_many_requests(
            e.to_string(),
            retry_after.as_secs().clamp(1, u64::from(u32::MAX)) as u32,
        ),
        AuthnError::Login(LoginError::Internal(_)) => ApiError::internal(e.to_string()),
        _ => ApiError::unauthorized(format!("Unauthorized: {e}")),
    }
}

/// Impersonation, as Kubernetes does it: `Impersonate-User`,
/// `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-<key>`
/// each need the `impersonate` verb on `users` (or the service account),
/// `groups`, `uids` and `userextras/<key>`; the request then acts as that
/// user, and the record keeps both identities.
pub async fn impersonate(
    State(security): State<Arc<Security>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let asked = headers
        .keys()
        .any(|k| k.as_str().starts_with("impersonate-"));
    if !asked {
        return next.run(request).await;
    }
    let record = match record_of(&request) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let Some(actor) = request.extensions().get::<UserInfo>().cloned() else {
        return ApiError::unauthorized("Unauthorized").into_response();
    };
    let target = match impersonated_user(headers) {
        Ok(target) => target,
        Err(e) => return e.into_response(),
    };
    for check in impersonation_checks(&target) {
        let info = check.request_info();
        let decision = security.authorize(&info, &actor);
        if !decision.allowed {
            record.set_decision(decision);
            return forbidden(&info, &actor).into_response();
        }
    }
    let headers = request.headers_mut();
    let names: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("impersonate-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
    record.set_impersonated(target.clone());
    request.extensions_mut().insert(target);
    next.run(request).await
}

/// One permission impersonation needs.
struct ImpersonationCheck {
    group: &'static str,
    resource: &'static str,
    subresource: String,
    namespace: String,
    name: String,
}

impl ImpersonationCheck {
    fn request_info(&self) -> OwnedRequestInfo {
        OwnedRequestInfo {
            is_resource_request: true,
            verb: "impersonate".into(),
            api_group: self.group.into(),
            resource: self.resource.into(),
            subresource: self.subresource.clone().into(),
            namespace: self.namespace.clone().into(),
            name: self.name.clone().into(),
            resource_scope: Some(if self.namespace.is_empty() {
                ResourceScope::Cluster
            } else {
                ResourceScope::Namespace
            }),
            is_kubernetes_request: true,
            ..OwnedRequestInfo::default()
        }
    }
}

/// The user the `Impersonate-*` headers name (400 when they are
/// inconsistent).
pub(crate) fn impersonated_user(headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    let text = |v: &HeaderValue| {
        v.to_str()
            .map(str::to_owned)
            .map_err(|_| ApiError::bad_request("impersonation headers must be ASCII"))
    };
    let mut user = UserInfo::default();
    let mut names = headers.get_all("impersonate-user").iter();
    if let Some(v) = names.next() {
        user.name = text(v)?;
    }
    if names.next().is_some() {
        return Err(ApiError::bad_request(
            "more than one Impersonate-User header",
        ));
    }
    if let Some(v) = headers.get("impersonate-uid") {
        user.uid = text(v)?;
    }
    for v in headers.get_all("impersonate-group") {
        user.groups.push(text(v)?);
    }
    for (key, value) in headers {
        if let Some(extra) = key.as_str().strip_prefix("impersonate-extra-") {
            let extra = percent_decode(extra)
                .ok_or_else(|| ApiError::bad_request("malformed Impersonate-Extra- header name"))?
                .to_ascii_lowercase();
            user.extra.entry(extra).or_default().push(text(value)?);
        }
    }
    if user.name.is_empty() {
        return Err(ApiError::bad_request(
            "requested impersonation of groups, a uid or extras without impersonating a user",
        ));
    }
    if let Some((namespace, _)) = service_account(&user.name) {
        for group in [
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{namespace}"),
        ] {
            if !user.groups.contains(&group) {
                user.groups.push(group);
            }
        }
    }
    if user.name != crate::authn::ANONYMOUS && !user.groups.iter().any(|g| g == AUTHENTICATED) {
        user.groups.push(AUTHENTICATED.to_owned());
    }
    Ok(user)
}

/// `system:serviceaccount:NS:NAME` as (NS, NAME).
fn service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = rest.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// The permissions impersonating `target` needs (as requested: the
/// groups and extras added for it are not asked for).
fn impersonation_checks(target: &UserInfo) -> Vec<ImpersonationCheck> {
    let check =
        |group, resource, subresource: &str, namespace: &str, name: &str| ImpersonationCheck {
            group,
            resource,
            subresource: subresource.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
    let mut checks = vec![match service_account(&target.name) {
        Some((namespace, name)) => check("", "serviceaccounts", "", namespace, name),
        None => check("", "users", "", "", &target.name),
    }];
    let implied = |g: &str| {
        g == AUTHENTICATED
            || (service_account(&target.name).is_some() && g.starts_with("system:serviceaccounts"))
    };
    for group in target.groups.iter().filter(|g| !implied(g)) {
        checks.push(check("", "groups", "", "", group));
    }
    if !target.uid.is_empty() {
        checks.push(check("authentication.k8s.io", "uids", "", "", &target.uid));
    }
    for (key, values) in &target.extra {
        for value in values {
            checks.push(check("authentication.k8s.io", "userextras", key, "", value));
        }
    }
    checks
}

/// Percent-decodes a header-name fragment (Kubernetes escapes extra keys
/// that are not valid in header names).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Authorization: public paths pass; anonymous callers elsewhere get 401;
/// everyone else needs RBAC's allow (403 otherwise).
pub async fn authorize(
    State(security): State<Arc<Security>>,
    request: Request,
    next: Next,
) -> Response {
    let record = match record_of(&request) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let anonymous = UserInfo::new(crate::authn::ANONYMOUS, [UNAUTHENTICATED]);
    let user = request.extensions().get::<UserInfo>().unwrap_or(&anonymous);
    if is_public(request.uri().path()) {
        record.set_decision(Decision {
            allowed: true,
            reason: "public path".into(),
        });
        return next.run(request).await;
    }
    if !user.groups.iter().any(|g| g == AUTHENTICATED) {
        record.set_decision(Decision {
            allowed: false,
            reason: "anonymous requests are only allowed on public paths".into(),
        });
        return ApiError::unauthorized("Unauthorized").into_response();
    }
    let allowed = match security.check(&record.info, user) {
        Check::Decided(decision) => {
            let allowed = decision.allowed;
            record.set_decision(decision);
            allowed
        }
        Check::Rbac(verdict) => {
            let allowed = verdict.decision.is_allowed();
            record.set_rbac_verdict(verdict);
            allowed
        }
    };
    security.metrics.authorization_decision(allowed);
    if !allowed {
        return forbidden(&record.info, user).into_response();
    }
    next.run(request).await
}

/// Kubernetes' 403: `configmaps is forbidden: User "bob" cannot list
/// resource "configmaps" in API group "" in the namespace "ns1"`, with
/// KubeSphere's scopes worded the same way.
pub fn forbidden(info: &OwnedRequestInfo, user: &UserInfo) -> ApiError {
    if !info.is_resource_request {
        return ApiError::forbidden(format!(
            "forbidden: User {:?} cannot {} path {:?}",
            user.name, info.verb, info.path
        ));
    }
    let mut resource = info.resource.to_string();
    if !info.subresource.is_empty() {
        resource = format!("{resource}/{}", info.subresource);
    }
    let scope = match info.resource_scope {
        Some(ResourceScope::Namespace) => format!("in the namespace {:?}", info.namespace),
        Some(ResourceScope::Workspace) => format!("in the workspace {:?}", info.workspace),
        Some(ResourceScope::Global) => "at the global scope".to_owned(),
        Some(ResourceScope::Cluster) | None => "at the cluster scope".to_owned(),
    };
    let what = if info.api_group.is_empty() {
        info.resource.to_string()
    } else {
        format!("{}.{}", info.resource, info.api_group)
    };
    let named = if info.name.is_empty() {
        String::new()
    } else {
        format!(" {:?}", info.name)
    };
    let mut err = ApiError::forbidden(format!(
        "{what}{named} is forbidden: User {:?} cannot {} resource {:?} in API group {:?} {scope}",
        user.name, info.verb, resource, info.api_group
    ));
    if !info.name.is_empty() {
        err.name = Some(info.name.to_string());
    }
    if !info.api_group.is_empty() {
        err.group = Some(info.api_group.to_string());
    }
    err.kind = Some(info.resource.to_string());
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: &str, path: &str) -> OwnedRequestInfo {
        Resolver::default()
            .parse(method, path)
            .unwrap()
            .into_owned()
    }

    #[test]
    fn public_paths() {
        for path in [
            "/oauth/token",
            "/oauth/logout",
            "/healthz",
            "/healthz/",
            "/kapis/version",
            "/version",
        ] {
            assert!(is_public(path), "{path}");
        }
        for path in [
            "/",
            "/oauth/tokens",
            "/api",
            "/healthz/x",
            "/oauth/logouts",
            "/kapis",
        ] {
            assert!(!is_public(path), "{path}");
        }
    }

    #[test]
    fn forbidden_messages_read_like_kubernetes() {
        let bob = UserInfo::new("bob", [AUTHENTICATED]);
        let cases = [
            (
                "GET",
                "/api/v1/namespaces/ns1/configmaps",
                r#"configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace "ns1""#,
            ),
            (
                "GET",
                "/apis/apps/v1/namespaces/ns1/deployments/web",
                r#"deployments.apps "web" is forbidden: User "bob" cannot get resource "deployments" in API group "apps" in the namespace "ns1""#,
            ),
            (
                "GET",
                "/api/v1/namespaces/ns1/pods/p/log",
                r#"pods "p" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "ns1""#,
            ),
            (
                "GET",
                "/api/v1/nodes",
                r#"nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope"#,
            ),
            (
                "GET",
                "/openapi/v2",
                r#"forbidden: User "bob" cannot get path "/openapi/v2""#,
            ),
        ];
        for (method, path, message) in cases {
            assert_eq!(
                forbidden(&info(method, path), &bob).message,
                message,
                "{path}"
            );
        }
    }
}
