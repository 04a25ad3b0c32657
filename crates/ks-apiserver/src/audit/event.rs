//! The audit record: [`AuditEvent`], and its two wire forms.
//!
//! - As `serde::Serialize` (the log): an `audit.k8s.io/v1` `Event`, field
//!   for field as kube-apiserver writes it (`k8s.io/apiserver`
//!   `pkg/apis/audit/v1/types.go`), with KubeSphere's `Workspace` and
//!   `Cluster` beside its fields at the top level.
//! - As [`KubeSphereEvent`] (the webhook): what KubeSphere 3.4 posts to its
//!   auditing webhook. Its `v1alpha1.Event` embeds the *internal*
//!   `audit.Event` of k8s.io/apiserver v0.26, which has no JSON tags, so
//!   Go writes the field names as they are (`Level`, `AuditID`,
//!   `ObjectRef.Resource`, ...), after KubeSphere's own `Devops`,
//!   `Workspace`, `Cluster` and `Message`; nested Kubernetes types keep
//!   their tags (`User.username`, `ResponseStatus.code`). KubeSphere's
//!   search (`pkg/simple/client/auditing/elasticsearch`) queries exactly
//!   these names.

use std::collections::BTreeMap;

use k8s_openapi::api::authentication::v1::UserInfo;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use super::AuditLevel;

/// The audit annotation with the authorization decision: `allow` or
/// `forbid` (Kubernetes' authorization filter).
pub const ANNOTATION_DECISION: &str = "authorization.k8s.io/decision";
/// The audit annotation with the authorizer's reason.
pub const ANNOTATION_REASON: &str = "authorization.k8s.io/reason";

/// The stage of request handling an event was made at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Stage {
    /// As soon as the request arrives (not emitted by ks-apiserver).
    RequestReceived,
    /// When the response headers of a long-running request (a watch, a
    /// log stream, exec) are sent.
    ResponseStarted,
    /// When the response body is done.
    ResponseComplete,
    /// When the handler panicked.
    Panic,
}

impl Stage {
    /// The name Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }
}

/// What a request is about (`objectRef`): set for resource requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectReference {
    /// The resource, e.g. `pods`.
    pub resource: String,
    /// The namespace, if any.
    pub namespace: String,
    /// The object's name, if the request names one (or creates one).
    pub name: String,
    /// The object's UID, when known.
    pub uid: String,
    /// The API group; empty for the core group.
    pub api_group: String,
    /// The API version.
    pub api_version: String,
    /// The object's resourceVersion, when known.
    pub resource_version: String,
    /// The subresource, e.g. `status`.
    pub subresource: String,
}

/// The outcome (`responseStatus`, a `metav1.Status`): the code, and for a
/// failure whatever the `Status` body said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseStatus {
    /// The HTTP status code.
    pub code: u16,
    /// `Success` or `Failure`, when the response was a Status.
    pub status: String,
    /// The Status message.
    pub message: String,
    /// The Status reason (`Forbidden`, `NotFound`, ...).
    pub reason: String,
}

impl ResponseStatus {
    /// A status with just a code.
    pub fn code(code: u16) -> Self {
        ResponseStatus {
            code,
            ..ResponseStatus::default()
        }
    }
}

/// One audit record.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    /// The level the request was recorded at.
    pub level: AuditLevel,
    /// The request's audit ID (also its `Audit-ID` response header).
    pub audit_id: String,
    /// The stage this event was made at.
    pub stage: Stage,
    /// The request target as sent (the path only for `/oauth/*`).
    pub request_uri: String,
    /// The Kubernetes verb (`get`, `list`, `watch`, `create`, ...), or the
    /// lowercased method of a non-resource request.
    pub verb: String,
    /// The authenticated user (the impersonator when impersonating).
    pub user: UserInfo,
    /// The user the request acted as, when it impersonated one.
    pub impersonated_user: Option<UserInfo>,
    /// The client's addresses, the nearest last.
    pub source_ips: Vec<String>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// What the request is about (resource requests only).
    pub object_ref: Option<ObjectReference>,
    /// The outcome.
    pub response_status: Option<ResponseStatus>,
    /// The request object (levels `Request` and up).
    pub request_object: Option<serde_json::Value>,
    /// The response object (level `RequestResponse`).
    pub response_object: Option<serde_json::Value>,
    /// When the request arrived.
    pub request_received_timestamp: jiff::Timestamp,
    /// When this stage was reached.
    pub stage_timestamp: jiff::Timestamp,
    /// Notes from the filters (the authorization decision and reason,
    /// objects left out and why).
    pub annotations: BTreeMap<String, String>,
    /// KubeSphere's workspace of the request, if any.
    pub workspace: String,
    /// KubeSphere's member cluster of the request, if any.
    pub cluster: String,
    /// KubeSphere's resource scope (`Global`, `Cluster`, `Workspace`,
    /// `Namespace`), empty for non-resource requests. Only the KubeSphere
    /// form carries it (in `ObjectRef.ResourceVersion`, as KubeSphere 3.4
    /// does).
    pub resource_scope: String,
}

impl AuditEvent {
    /// An empty event of `audit_id` at `stage`, received and staged now.
    pub fn new(audit_id: impl Into<String>, level: AuditLevel, stage: Stage) -> Self {
        let now = jiff::Timestamp::now();
        AuditEvent {
            level,
            audit_id: audit_id.into(),
            stage,
            request_uri: String::new(),
            verb: String::new(),
            user: UserInfo::default(),
            impersonated_user: None,
            source_ips: Vec::new(),
            user_agent: String::new(),
            object_ref: None,
            response_status: None,
            request_object: None,
            response_object: None,
            request_received_timestamp: now,
            stage_timestamp: now,
            annotations: BTreeMap::new(),
            workspace: String::new(),
            cluster: String::new(),
            resource_scope: String::new(),
        }
    }

    /// The event as KubeSphere 3.4 posts it to its auditing webhook.
    pub fn kubesphere(&self) -> KubeSphereEvent<'_> {
        KubeSphereEvent(self)
    }
}

/// `metav1.MicroTime` as Kubernetes writes it: RFC 3339 in UTC with
/// microseconds, `2006-01-02T15:04:05.000000Z`.
pub fn format_micro_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

struct MicroTime(jiff::Timestamp);

impl Serialize for MicroTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }
}

/// `metav1.Status` as Go writes it inside an event: `metadata` always,
/// the rest when set.
struct StatusOut<'a>(&'a ResponseStatus);

impl Serialize for StatusOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("metadata", &serde_json::Map::new())?;
        if !s.status.is_empty() {
            map.serialize_entry("status", &s.status)?;
        }
        if !s.message.is_empty() {
            map.serialize_entry("message", &s.message)?;
        }
        if !s.reason.is_empty() {
            map.serialize_entry("reason", &s.reason)?;
        }
        if s.code != 0 {
            map.serialize_entry("code", &s.code)?;
        }
        map.end()
    }
}

/// `authentication/v1` `UserInfo` in Go's field order, empty fields
/// omitted.
struct UserOut<'a>(&'a UserInfo);

impl Serialize for UserOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let u = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(name) = u.username.as_ref().filter(|s| !s.is_empty()) {
            map.serialize_entry("username", name)?;
        }
        if let Some(uid) = u.uid.as_ref().filter(|s| !s.is_empty()) {
            map.serialize_entry("uid", uid)?;
        }
        if let Some(groups) = u.groups.as_ref().filter(|g| !g.is_empty()) {
            map.serialize_entry("groups", groups)?;
        }
        if let Some(extra) = u.extra.as_ref().filter(|e| !e.is_empty()) {
            map.serialize_entry("extra", extra)?;
        }
        map.end()
    }
}

/// `objectRef` of `audit.k8s.io/v1`: every field omitted when empty.
struct ObjectRefV1<'a>(&'a ObjectReference);

impl Serialize for ObjectRefV1<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let o = self.0;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in [
            ("resource", &o.resource),
            ("namespace", &o.namespace),
            ("name", &o.name),
            ("uid", &o.uid),
            ("apiGroup", &o.api_group),
            ("apiVersion", &o.api_version),
            ("resourceVersion", &o.resource_version),
            ("subresource", &o.subresource),
        ] {
            if !value.is_empty() {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// `audit.k8s.io/v1` `Event`, with KubeSphere's `Workspace` and `Cluster`
/// at the top level.
impl Serialize for AuditEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", "Event")?;
        map.serialize_entry("apiVersion", "audit.k8s.io/v1")?;
        map.serialize_entry("level", self.level.as_str())?;
        map.serialize_entry("auditID", &self.audit_id)?;
        map.serialize_entry("stage", self.stage.as_str())?;
        map.serialize_entry("requestURI", &self.request_uri)?;
        map.serialize_entry("verb", &self.verb)?;
        map.serialize_entry("user", &UserOut(&self.user))?;
        if let Some(user) = &self.impersonated_user {
            map.serialize_entry("impersonatedUser", &UserOut(user))?;
        }
        if !self.source_ips.is_empty() {
            map.serialize_entry("sourceIPs", &self.source_ips)?;
        }
        if !self.user_agent.is_empty() {
            map.serialize_entry("userAgent", &self.user_agent)?;
        }
        if let Some(object_ref) = &self.object_ref {
            map.serialize_entry("objectRef", &ObjectRefV1(object_ref))?;
        }
        if let Some(status) = &self.response_status {
            map.serialize_entry("responseStatus", &StatusOut(status))?;
        }
        if let Some(object) = &self.request_object {
            map.serialize_entry("requestObject", object)?;
        }
        if let Some(object) = &self.response_object {
            map.serialize_entry("responseObject", object)?;
        }
        map.serialize_entry(
            "requestReceivedTimestamp",
            &MicroTime(self.request_received_timestamp),
        )?;
        map.serialize_entry("stageTimestamp", &MicroTime(self.stage_timestamp))?;
        if !self.annotations.is_empty() {
            map.serialize_entry("annotations", &self.annotations)?;
        }
        map.serialize_entry("Workspace", &self.workspace)?;
        map.serialize_entry("Cluster", &self.cluster)?;
        map.end()
    }
}

/// An [`AuditEvent`] as KubeSphere 3.4 serializes its `v1alpha1.Event`
/// for the auditing webhook (see the module docs for why the names are
/// capitalized). `Devops` and `Message` are always empty here (ks-rs has
/// no DevOps projects, and KubeSphere's API server never sets a message);
/// `ObjectRef.ResourceVersion` carries the resource scope, as KubeSphere
/// puts it there.
#[derive(Clone, Copy, Debug)]
pub struct KubeSphereEvent<'a>(pub &'a AuditEvent);

/// The internal `audit.ObjectReference`: untagged, every field present.
struct ObjectRefGo<'a>(&'a ObjectReference, &'a str);

impl Serialize for ObjectRefGo<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (o, scope) = (self.0, self.1);
        let resource_version = if o.resource_version.is_empty() {
            scope
        } else {
            &o.resource_version
        };
        let mut s = serializer.serialize_struct("ObjectReference", 8)?;
        s.serialize_field("Resource", &o.resource)?;
        s.serialize_field("Namespace", &o.namespace)?;
        s.serialize_field("Name", &o.name)?;
        s.serialize_field("UID", &o.uid)?;
        s.serialize_field("APIGroup", &o.api_group)?;
        s.serialize_field("APIVersion", &o.api_version)?;
        s.serialize_field("ResourceVersion", resource_version)?;
        s.serialize_field("Subresource", &o.subresource)?;
        s.end()
    }
}

impl Serialize for KubeSphereEvent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let empty_ref = ObjectReference::default();
        let mut s = serializer.serialize_struct("Event", 20)?;
        s.serialize_field("Devops", "")?;
        s.serialize_field("Workspace", &e.workspace)?;
        s.serialize_field("Cluster", &e.cluster)?;
        s.serialize_field("Message", "")?;
        s.serialize_field("Level", e.level.as_str())?;
        s.serialize_field("AuditID", &e.audit_id)?;
        s.serialize_field("Stage", e.stage.as_str())?;
        // KubeSphere records the path, never the query.
        let path = e.request_uri.split('?').next().unwrap_or_default();
        s.serialize_field("RequestURI", path)?;
        s.serialize_field("Verb", &e.verb)?;
        s.serialize_field("User", &UserOut(&e.user))?;
        s.serialize_field(
            "ImpersonatedUser",
            &e.impersonated_user.as_ref().map(UserOut),
        )?;
        let ips = (!e.source_ips.is_empty()).then_some(&e.source_ips);
        s.serialize_field("SourceIPs", &ips)?;
        s.serialize_field("UserAgent", &e.user_agent)?;
        // KubeSphere fills ObjectRef for every request.
        let object_ref = e.object_ref.as_ref().unwrap_or(&empty_ref);
        s.serialize_field("ObjectRef", &ObjectRefGo(object_ref, &e.resource_scope))?;
        s.serialize_field("ResponseStatus", &e.response_status.as_ref().map(StatusOut))?;
        s.serialize_field("RequestObject", &e.request_object)?;
        s.serialize_field("ResponseObject", &e.response_object)?;
        s.serialize_field(
            "RequestReceivedTimestamp",
            &MicroTime(e.request_received_timestamp),
        )?;
        s.serialize_field("StageTimestamp", &MicroTime(e.stage_timestamp))?;
        let annotations = (!e.annotations.is_empty()).then_some(&e.annotations);
        s.serialize_field("Annotations", &annotations)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> AuditEvent {
        let ts: jiff::Timestamp = "2024-03-01T10:20:30.123456789Z".parse().unwrap();
        let mut e = AuditEvent::new("a1b2", AuditLevel::Metadata, Stage::ResponseComplete);
        e.request_received_timestamp = ts;
        e.stage_timestamp = ts;
        e.request_uri = "/api/v1/namespaces/ns1/pods?limit=5".into();
        e.verb = "list".into();
        e.user = UserInfo {
            username: Some("alice".into()),
            groups: Some(vec!["system:authenticated".into()]),
            ..UserInfo::default()
        };
        e.source_ips = vec!["10.0.0.1".into()];
        e.user_agent = "kubectl/v1.33".into();
        e.object_ref = Some(ObjectReference {
            resource: "pods".into(),
            namespace: "ns1".into(),
            api_version: "v1".into(),
            ..ObjectReference::default()
        });
        e.response_status = Some(ResponseStatus::code(200));
        e.annotations
            .insert(ANNOTATION_DECISION.into(), "allow".into());
        e.workspace = "ws1".into();
        e.resource_scope = "Namespace".into();
        e
    }

    #[test]
    fn micro_time_is_kubernetes_format() {
        let ts: jiff::Timestamp = "2024-03-01T10:20:30.123456789Z".parse().unwrap();
        assert_eq!(format_micro_time(ts), "2024-03-01T10:20:30.123456Z");
        let whole: jiff::Timestamp = "2024-03-01T10:20:30Z".parse().unwrap();
        assert_eq!(format_micro_time(whole), "2024-03-01T10:20:30.000000Z");
    }

    #[test]
    fn serializes_as_audit_k8s_io_v1() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            v,
            json!({
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "level": "Metadata",
                "auditID": "a1b2",
                "stage": "ResponseComplete",
                "requestURI": "/api/v1/namespaces/ns1/pods?limit=5",
                "verb": "list",
                "user": {"username": "alice", "groups": ["system:authenticated"]},
                "sourceIPs": ["10.0.0.1"],
                "userAgent": "kubectl/v1.33",
                "objectRef": {"resource": "pods", "namespace": "ns1", "apiVersion": "v1"},
                "responseStatus": {"metadata": {}, "code": 200},
                "requestReceivedTimestamp": "2024-03-01T10:20:30.123456Z",
                "stageTimestamp": "2024-03-01T10:20:30.123456Z",
                "annotations": {"authorization.k8s.io/decision": "allow"},
                "Workspace": "ws1",
                "Cluster": ""
            })
        );
    }

    #[test]
    fn failure_status_carries_reason_and_message() {
        let mut e = sample();
        e.response_status = Some(ResponseStatus {
            code: 403,
            status: "Failure".into(),
            reason: "Forbidden".into(),
            message: "pods is forbidden".into(),
        });
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v["responseStatus"],
            json!({"metadata": {}, "status": "Failure", "message": "pods is forbidden", "reason": "Forbidden", "code": 403})
        );
    }

    #[test]
    fn kubesphere_form_uses_go_field_names() {
        let e = sample();
        let text = serde_json::to_string(&e.kubesphere()).unwrap();
        // Go writes struct fields in declaration order.
        assert!(text.starts_with(r#"{"Devops":"","Workspace":"ws1","Cluster":"","Message":"","Level":"Metadata","AuditID":"a1b2","Stage":"ResponseComplete","RequestURI":"/api/v1/namespaces/ns1/pods","Verb":"list","User":{"username":"alice","groups":["system:authenticated"]},"ImpersonatedUser":null,"SourceIPs":["10.0.0.1"]"#), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["ObjectRef"],
            json!({"Resource": "pods", "Namespace": "ns1", "Name": "", "UID": "", "APIGroup": "", "APIVersion": "v1", "ResourceVersion": "Namespace", "Subresource": ""})
        );
        assert_eq!(v["ResponseStatus"], json!({"metadata": {}, "code": 200}));
        assert_eq!(v["RequestObject"], json!(null));
        assert_eq!(v["RequestReceivedTimestamp"], "2024-03-01T10:20:30.123456Z");
        assert_eq!(
            v["Annotations"],
            json!({"authorization.k8s.io/decision": "allow"})
        );
        assert!(v.get("kind").is_none() && v.get("level").is_none());
    }

    #[test]
    fn kubesphere_form_of_a_non_resource_request_has_an_empty_object_ref() {
        let mut e = sample();
        e.object_ref = None;
        e.resource_scope.clear();
        e.annotations.clear();
        let v = serde_json::to_value(e.kubesphere()).unwrap();
        assert_eq!(v["ObjectRef"]["Resource"], "");
        assert_eq!(v["Annotations"], json!(null));
    }
}
