//! [`AuditLayer`]: the tower layer that records every request it wraps.
//!
//! It sits right after the request-info filter, so it sees the answers
//! the filters inside it give (401, 403) and reads what they learned from
//! the request's [`RequestRecord`] once the response is done. As
//! kube-apiserver's audit filter (`WithAudit`) does:
//! - one `ResponseComplete` event when the response body ends (or the
//!   client goes away; an answer never started is recorded as
//!   "Connection closed early", as Kubernetes does);
//! - for long-running requests, also a `ResponseStarted` event when the
//!   headers go out; their bodies are streamed untouched;
//! - a `Panic` event when the handler panics (the panic then goes on).
//!
//! Bodies are captured by copying the chunks as they stream past, up to
//! the auditor's limit, never by buffering them ahead of the handler or
//! the client.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use k8s_openapi::api::authentication::v1::UserInfo;

use super::event::{ANNOTATION_DECISION, ANNOTATION_REASON};
use super::policy::{self, Plan};
use super::{AuditEvent, AuditLevel, Auditor, ObjectReference, ResponseStatus, Stage};
use crate::context::RequestRecord;

/// The annotation saying why `requestObject` is missing.
const ANNOTATION_REQUEST_OMITTED: &str = "audit.ks-rs.io/request-object";
/// The annotation saying why `responseObject` is missing.
const ANNOTATION_RESPONSE_OMITTED: &str = "audit.ks-rs.io/response-object";
/// How much of a failure's body is read for its Status when the body is
/// not otherwise recorded.
const FAILURE_STATUS_LIMIT: usize = 16 * 1024;

/// Records the requests of the service it wraps with an [`Auditor`].
///
/// Requests without an `Arc<RequestRecord>` extension pass through
/// unaudited.
#[derive(Clone, Debug)]
pub struct AuditLayer {
    auditor: Auditor,
}

impl AuditLayer {
    /// A layer recording through `auditor`.
    pub fn new(auditor: Auditor) -> Self {
        AuditLayer { auditor }
    }
}

impl<S> tower::Layer<S> for AuditLayer {
    type Service = AuditService<S>;

    fn layer(&self, inner: S) -> AuditService<S> {
        AuditService {
            inner,
            auditor: self.auditor.clone(),
        }
    }
}

/// The service [`AuditLayer`] makes.
#[derive(Clone, Debug)]
pub struct AuditService<S> {
    inner: S,
    auditor: Auditor,
}

impl<S> tower::Service<Request<Body>> for AuditService<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The ready service handles this call; a clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let record = request.extensions().get::<Arc<RequestRecord>>().cloned();
        let plan = record
            .as_ref()
            .and_then(|r| policy::plan(r, request.headers(), self.auditor.level()));
        let (Some(record), Some(plan)) = (record, plan) else {
            return Box::pin(inner.call(request));
        };
        let limit = self.auditor.max_body_bytes();
        let request_capture = plan.capture_request.then(|| {
            let capture = Arc::new(Mutex::new(Capture::new(limit)));
            let body = std::mem::take(request.body_mut());
            *request.body_mut() = Body::new(TeeBody {
                inner: body,
                capture: Arc::clone(&capture),
            });
            capture
        });
        let mut tracker = Tracker {
            auditor: self.auditor.clone(),
            record,
            plan,
            limit,
            request_capture,
            response_capture: None,
            status: None,
            done: false,
        };
        let future = inner.call(request);
        Box::pin(async move {
            match AssertUnwindSafe(future).catch_unwind().await {
                Ok(Ok(response)) => Ok(tracker.respond(response)),
                Ok(Err(e)) => {
                    tracker.status = Some(ResponseStatus {
                        code: 500,
                        status: "Failure".into(),
                        reason: "InternalError".into(),
                        message: "the request could not be served".into(),
                    });
                    drop(tracker);
                    Err(e)
                }
                Err(panic) => {
                    tracker.panicked(&*panic);
                    std::panic::resume_unwind(panic)
                }
            }
        })
    }
}

/// A body copied as it streams past, up to a limit.
#[derive(Debug)]
struct Capture {
    buf: Vec<u8>,
    limit: usize,
    too_large: bool,
    complete: bool,
}

impl Capture {
    fn new(limit: usize) -> Self {
        Capture {
            buf: Vec::new(),
            limit,
            too_large: false,
            complete: false,
        }
    }

    fn push(&mut self, data: &[u8]) {
        if self.too_large {
            return;
        }
        if self.buf.len() + data.len() > self.limit {
            self.too_large = true;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(data);
        }
    }
}

/// What the captured body says.
enum Captured {
    /// The whole body, parsed.
    Json(serde_json::Value),
    /// Why there is no object.
    Omitted(String),
    /// The body was never read to its end (the request was refused first).
    Unread,
}

impl Capture {
    fn parse(&self) -> Captured {
        if self.too_large {
            Captured::Omitted(format!("omitted: larger than {} bytes", self.limit))
        } else if !self.complete {
            Captured::Unread
        } else if self.buf.is_empty() {
            Captured::Omitted("omitted: empty".into())
        } else {
            match serde_json::from_slice(&self.buf) {
                Ok(value) => Captured::Json(value),
                Err(_) => Captured::Omitted("omitted: not JSON".into()),
            }
        }
    }
}

/// The request body, copied into a capture as the handler reads it.
struct TeeBody {
    inner: Body,
    capture: Arc<Mutex<Capture>>,
}

impl HttpBody for TeeBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                let mut capture = this.capture.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(data) = frame.data_ref() {
                    capture.push(data);
                }
                capture.complete = this.inner.is_end_stream();
            }
            Poll::Ready(None) => {
                this.capture
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .complete = true;
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One audited request in flight: emits its last event when dropped.
struct Tracker {
    auditor: Auditor,
    record: Arc<RequestRecord>,
    plan: Plan,
    limit: usize,
    request_capture: Option<Arc<Mutex<Capture>>>,
    response_capture: Option<Capture>,
    status: Option<ResponseStatus>,
    done: bool,
}

impl Tracker {
    /// The response headers are ready: note the code, emit
    /// `ResponseStarted` for a long-running request, and follow the body.
    fn respond(mut self, response: Response<Body>) -> Response<Body> {
        let code = response.status().as_u16();
        self.status = Some(ResponseStatus::code(code));
        if self.plan.long_running {
            self.emit(Stage::ResponseStarted);
        }
        if let Some(session) = response
            .extensions()
            .get::<ks_kube_api::api::WebSocketSession>()
            .cloned()
        {
            // A WebSocket watch: complete when the socket closes, as
            // kube-apiserver's handler returns only then.
            tokio::spawn(async move {
                session.closed().await;
                drop(self);
            });
            return response;
        }
        if self.plan.capture_response {
            self.response_capture = Some(Capture::new(self.limit));
        } else if self.plan.read_failure_status && code >= 400 {
            self.response_capture = Some(Capture::new(FAILURE_STATUS_LIMIT));
        }
        let (parts, body) = response.into_parts();
        Response::from_parts(
            parts,
            Body::new(AuditedBody {
                inner: body,
                tracker: self,
            }),
        )
    }

    fn panicked(&mut self, panic: &(dyn std::any::Any + Send)) {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        self.status = Some(ResponseStatus {
            code: 500,
            status: "Failure".into(),
            reason: "InternalError".into(),
            message: format!("APIServer panic'd: {message}"),
        });
        self.done = true;
        self.emit(Stage::Panic);
    }

    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if self.status.is_none() {
            // Kubernetes' wording for an answer that never started.
            self.status = Some(ResponseStatus {
                code: 200,
                status: "Success".into(),
                message: "Connection closed early".into(),
                reason: String::new(),
            });
            if self.plan.long_running {
                self.emit(Stage::ResponseStarted);
            }
        }
        self.emit(Stage::ResponseComplete);
    }

    fn emit(&self, stage: Stage) {
        self.auditor.record(self.event(stage));
    }

    fn event(&self, stage: Stage) -> AuditEvent {
        let r = &*self.record;
        let info = &r.info;
        let mut e = AuditEvent::new(r.audit_id.clone(), self.plan.level, stage);
        e.request_received_timestamp = r.received;
        e.request_uri = if self.plan.path_only {
            r.request_uri
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned()
        } else {
            r.request_uri.clone()
        };
        e.verb = info.verb.to_string();
        e.user = r.user().map(user_info).unwrap_or_default();
        e.impersonated_user = r.impersonated().map(user_info);
        e.source_ips = r.source_ips.iter().map(ToString::to_string).collect();
        e.user_agent = r.user_agent.clone();
        if info.is_resource_request {
            e.object_ref = Some(ObjectReference {
                resource: info.resource.to_string(),
                namespace: info.namespace.to_string(),
                name: info.name.to_string(),
                api_group: info.api_group.to_string(),
                api_version: info.api_version.to_string(),
                subresource: info.subresource.to_string(),
                ..ObjectReference::default()
            });
        }
        e.response_status = self.status.clone();
        if let Some(decision) = r.decision() {
            let verdict = if decision.allowed { "allow" } else { "forbid" };
            e.annotations
                .insert(ANNOTATION_DECISION.to_owned(), verdict.to_owned());
            e.annotations
                .insert(ANNOTATION_REASON.to_owned(), decision.reason.clone());
        }
        e.workspace = info.workspace.to_string();
        e.cluster = info.cluster.to_string();
        e.resource_scope = info
            .resource_scope
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        if stage != Stage::ResponseStarted {
            self.add_request_object(&mut e);
            self.add_response_object(&mut e);
        }
        e
    }

    fn add_request_object(&self, e: &mut AuditEvent) {
        let Some(capture) = &self.request_capture else {
            return;
        };
        let captured = capture
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .parse();
        let record = self.plan.level >= AuditLevel::Request;
        match captured {
            Captured::Json(value) => {
                // As Kubernetes, name a created object from its body.
                if self.record.info.verb == "create"
                    && let Some(object_ref) = &mut e.object_ref
                    && let Some(meta) = value.get("metadata")
                {
                    let text =
                        |key: &str| meta.get(key).and_then(|v| v.as_str()).unwrap_or_default();
                    if object_ref.name.is_empty() {
                        object_ref.name = text("name").to_owned();
                    }
                    if object_ref.namespace.is_empty() {
                        object_ref.namespace = text("namespace").to_owned();
                    }
                }
                if record {
                    e.request_object = Some(value);
                }
            }
            Captured::Omitted(why) if record => {
                e.annotations
                    .insert(ANNOTATION_REQUEST_OMITTED.to_owned(), why);
            }
            Captured::Omitted(_) | Captured::Unread => {}
        }
    }

    fn add_response_object(&self, e: &mut AuditEvent) {
        let Some(capture) = &self.response_capture else {
            return;
        };
        let captured = capture.parse();
        let code = self.status.as_ref().map_or(0, |s| s.code);
        match captured {
            Captured::Json(value) => {
                if code >= 400
                    && value.get("kind").and_then(|k| k.as_str()) == Some("Status")
                    && let Some(status) = &mut e.response_status
                {
                    let text = |key: &str| {
                        value
                            .get(key)
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    status.status = text("status");
                    status.reason = text("reason");
                    status.message = text("message");
                }
                if self.plan.capture_response {
                    e.response_object = Some(value);
                }
            }
            Captured::Omitted(why) if self.plan.capture_response => {
                e.annotations
                    .insert(ANNOTATION_RESPONSE_OMITTED.to_owned(), why);
            }
            Captured::Omitted(_) | Captured::Unread => {}
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The response body, followed to its end (and copied when recorded).
struct AuditedBody {
    inner: Body,
    tracker: Tracker,
}

impl HttpBody for AuditedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                let end = this.inner.is_end_stream();
                if let Some(capture) = &mut this.tracker.response_capture {
                    if let Some(data) = frame.data_ref() {
                        capture.push(data);
                    }
                    capture.complete = end;
                }
                if end {
                    this.tracker.finish();
                }
            }
            Poll::Ready(None) => {
                if let Some(capture) = &mut this.tracker.response_capture {
                    capture.complete = true;
                }
                this.tracker.finish();
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The audit form of a user.
fn user_info(user: &ks_kube_api::UserInfo) -> UserInfo {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    UserInfo {
        username: some(&user.name),
        uid: some(&user.uid),
        groups: (!user.groups.is_empty()).then(|| user.groups.clone()),
        extra: (!user.extra.is_empty()).then(|| user.extra.clone()),
    }
}
