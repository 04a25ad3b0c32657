//! The server's own writes (login records, a user's lockout state, the
//! bootstrap admin), made through the embedded Kubernetes API in process,
//! so they get the same defaulting, validation, admission and watch
//! events as anybody's, under the server's own identity.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use ks_kube_api::{App, UserInfo};
use serde_json::Value;
use tower::ServiceExt as _;

/// The identity of the server's own writes.
pub const SERVER_USER: &str = "system:ks-apiserver";

/// The group that passes every authorization and escalation check, as in
/// Kubernetes.
pub const MASTERS_GROUP: &str = "system:masters";

/// The largest response the server reads back from its own API.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Why an internal request failed: the status and the API's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {path}: {status}: {message}")]
pub struct InternalError {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The Status message, or the transport problem.
    pub message: String,
}

/// A client of the embedded Kubernetes API that never leaves the process.
#[derive(Clone)]
pub struct Internal {
    router: axum::Router,
    user: Arc<UserInfo>,
}

impl std::fmt::Debug for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Internal")
            .field("user", &self.user.name)
            .finish()
    }
}

impl Internal {
    /// A client of `app`'s API acting as [`SERVER_USER`].
    pub fn new(app: Arc<App>) -> Self {
        Internal {
            router: ks_kube_api::router(app),
            user: Arc::new(UserInfo::new(SERVER_USER, [MASTERS_GROUP])),
        }
    }

    /// `GET path`; `None` on 404.
    pub async fn get(&self, path: &str) -> Result<Option<Value>, InternalError> {
        match self.send(Method::GET, path, None, "application/json").await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST path` with `obj`: the created object.
    pub async fn create(&self, path: &str, obj: &Value) -> Result<Value, InternalError> {
        self.send(Method::POST, path, Some(obj), "application/json")
            .await
    }

    /// `PATCH path` with a JSON merge patch: the patched object.
    pub async fn merge_patch(&self, path: &str, patch: &Value) -> Result<Value, InternalError> {
        self.send(
            Method::PATCH,
            path,
            Some(patch),
            "application/merge-patch+json",
        )
        .await
    }

    /// Sends `method path` with `body` to the embedded API as this
    /// client's identity and returns the API's response as it is (status,
    /// headers, `Status` body): for routes that act for a caller the
    /// filter chain has already authorized.
    pub async fn forward(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> axum::response::Response {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ACCEPT, "application/json")
            .body(Body::from(body));
        let mut request = match request {
            Ok(r) => r,
            Err(e) => {
                return axum::response::IntoResponse::into_response(
                    ks_kube_api::ApiError::bad_request(e.to_string()),
                );
            }
        };
        request.extensions_mut().insert((*self.user).clone());
        match self.router.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Value, InternalError> {
        let error = |status: StatusCode, message: String| InternalError {
            method: method.clone(),
            path: path.to_owned(),
            status,
            message,
        };
        let bytes = body.map(Value::to_string).unwrap_or_default();
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ACCEPT, "application/json")
            .body(Body::from(bytes))
            .map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
        request.extensions_mut().insert((*self.user).clone());
        let response = match self.router.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let message = value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        Err(error(status, message))
    }
}
