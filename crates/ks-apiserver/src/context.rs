//! What the filters learn about a request, kept where the filters after
//! them, the handlers and the audit record can read it.
//!
//! Two request extensions carry it:
//! - [`Connection`], inserted by the accept loop for every request of a
//!   connection: the peer address and, over HTTPS, the identity in a
//!   client certificate the TLS layer already verified against the CA;
//! - `Arc<`[`RequestRecord`]`>`, inserted by the first filter (request
//!   info): the parsed [`RequestInfo`](ks_request_info::RequestInfo), the
//!   audit ID, the source addresses, and slots the later filters fill in
//!   once each (the authenticated user, the impersonated user, the
//!   authorization decision). The audit layer reads the slots after the
//!   response, so a request refused with 401 or 403 is recorded with
//!   whatever was known when it was refused.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use ks_kube_api::UserInfo;
use ks_request_info::OwnedRequestInfo;

/// The connection a request came in on.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The direct peer (a proxy's address when behind one).
    pub peer: SocketAddr,
    /// The user named by a verified client certificate, if one was
    /// presented.
    pub client_certificate: Option<Arc<CertificateIdentity>>,
}

/// The identity in a client certificate, as kube-apiserver reads it: the
/// subject's common name is the user, its organizations are the groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// The subject CN.
    pub user: String,
    /// The subject O values.
    pub groups: Vec<String>,
}

/// The authorization decision on a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request was allowed.
    pub allowed: bool,
    /// Why: the binding that allowed it, or what was missing.
    pub reason: String,
}

/// An RBAC decision whose reason is rendered only when someone reads it
/// (the audit record), not on the request's path.
#[derive(Clone, Debug)]
pub struct RbacVerdict {
    /// The policy the decision was made with.
    pub snapshot: Arc<ks_rbac::PolicySnapshot>,
    /// The decision.
    pub decision: ks_rbac::Decision,
}

/// Everything the filters established about one request.
#[derive(Debug)]
pub struct RequestRecord {
    /// A unique ID for the request (`Audit-ID` response header, `auditID`).
    pub audit_id: String,
    /// When the first filter saw the request.
    pub received: jiff::Timestamp,
    /// The HTTP method.
    pub method: http::Method,
    /// The request target as sent (path and query), for `requestURI`.
    pub request_uri: String,
    /// The client's addresses, the one that reached us last: forwarded
    /// addresses first when the peer is a trusted proxy, then the peer.
    pub source_ips: Vec<IpAddr>,
    /// The `User-Agent` header, if any.
    pub user_agent: String,
    /// The parsed request.
    pub info: OwnedRequestInfo,
    user: OnceLock<UserInfo>,
    impersonated: OnceLock<UserInfo>,
    decision: OnceLock<Decision>,
    verdict: OnceLock<RbacVerdict>,
}

impl RequestRecord {
    /// A record of a request nothing has been decided about yet.
    pub fn new(
        audit_id: String,
        method: http::Method,
        request_uri: String,
        source_ips: Vec<IpAddr>,
        user_agent: String,
        info: OwnedRequestInfo,
    ) -> Self {
        RequestRecord {
            audit_id,
            received: jiff::Timestamp::now(),
            method,
            request_uri,
            source_ips,
            user_agent,
            info,
            user: OnceLock::new(),
            impersonated: OnceLock::new(),
            decision: OnceLock::new(),
            verdict: OnceLock::new(),
        }
    }

    /// The authenticated user (the impersonator when impersonating), once
    /// authentication has run.
    pub fn user(&self) -> Option<&UserInfo> {
        self.user.get()
    }

    /// The user the request acts as, when it impersonates one.
    pub fn impersonated(&self) -> Option<&UserInfo> {
        self.impersonated.get()
    }

    /// The user the request acts as: the impersonated user, else the
    /// authenticated one.
    pub fn effective_user(&self) -> Option<&UserInfo> {
        self.impersonated().or_else(|| self.user())
    }

    /// The authorization decision, once authorization has run (an RBAC
    /// decision's reason is rendered on the first call).
    pub fn decision(&self) -> Option<&Decision> {
        if let Some(decision) = self.decision.get() {
            return Some(decision);
        }
        let verdict = self.verdict.get()?;
        let user = self.effective_user()?;
        let attrs = ks_rbac::Attributes {
            extra: (&user.extra).into(),
            ..ks_rbac::Attributes::from_request_info(&self.info, &user.name, &user.groups)
        };
        let decision = Decision {
            allowed: verdict.decision.is_allowed(),
            reason: verdict.snapshot.explain(&attrs, verdict.decision),
        };
        Some(self.decision.get_or_init(|| decision))
    }

    /// Records an RBAC decision, its reason to be rendered when read.
    pub fn set_rbac_verdict(&self, verdict: RbacVerdict) {
        let _ = self.verdict.set(verdict);
    }

    /// Records the authenticated user (the first call wins).
    pub fn set_user(&self, user: UserInfo) {
        let _ = self.user.set(user);
    }

    /// Records the impersonated user (the first call wins).
    pub fn set_impersonated(&self, user: UserInfo) {
        let _ = self.impersonated.set(user);
    }

    /// Records the authorization decision (the first call wins).
    pub fn set_decision(&self, decision: Decision) {
        let _ = self.decision.set(decision);
    }
}
