//! API errors, answered as metav1 `Status` objects the way kube-apiserver
//! answers them (same `reason`, `code`, message shapes and `details`).

use serde::Serialize;
use serde_json::{Value, json};

/// One cause of a failure (a field error for `Invalid`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// Machine-readable cause, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// The field path, e.g. `metadata.name`.
    pub field: String,
}

/// An error the API answers with a `Status` object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// metav1 `StatusReason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `details.name`.
    pub name: Option<String>,
    /// `details.group`.
    pub group: Option<String>,
    /// `details.kind` (the resource, as Kubernetes reports it).
    pub kind: Option<String>,
    /// `details.causes`.
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds`.
    pub retry_after_seconds: Option<u32>,
}

/// Result alias for API handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// A group and resource, as printed in messages: `configmaps` or
/// `users.iam.kubesphere.io`.
#[derive(Clone, Copy, Debug)]
pub struct GroupResource<'a> {
    /// API group.
    pub group: &'a str,
    /// Plural resource.
    pub resource: &'a str,
}

impl std::fmt::Display for GroupResource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            name: None,
            group: None,
            kind: None,
            causes: Vec::new(),
            retry_after_seconds: None,
        }
    }

    fn with_resource(mut self, gr: GroupResource<'_>, name: &str) -> Self {
        if !name.is_empty() {
            self.name = Some(name.to_owned());
        }
        if !gr.group.is_empty() {
            self.group = Some(gr.group.to_owned());
        }
        self.kind = Some(gr.resource.to_owned());
        self
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// 404 NotFound for an object.
    pub fn not_found(gr: GroupResource<'_>, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{gr} \"{name}\" not found")).with_resource(gr, name)
    }

    /// 404 NotFound for a path nothing serves.
    pub fn no_route() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        ApiError::new(406, "NotAcceptable", message)
    }

    /// 409 AlreadyExists.
    pub fn already_exists(gr: GroupResource<'_>, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{gr} \"{name}\" already exists"),
        )
        .with_resource(gr, name)
    }

    /// 409 AlreadyExists when every name generated from `generateName`
    /// was taken (Kubernetes' `NewGenerateNameConflict`: retry later).
    pub fn generate_name_conflict(gr: GroupResource<'_>, name: &str) -> Self {
        let mut err = ApiError::new(
            409,
            "AlreadyExists",
            format!(
                "{gr} \"{name}\" already exists, the server was not able to generate a unique name for the object"
            ),
        )
        .with_resource(gr, name);
        err.retry_after_seconds = Some(1);
        err
    }

    /// 409 Conflict on a stale resourceVersion or failed precondition.
    pub fn conflict(gr: GroupResource<'_>, name: &str, detail: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {gr} \"{name}\": {detail}"),
        )
        .with_resource(gr, name)
    }

    /// The standard optimistic-concurrency conflict.
    pub fn stale(gr: GroupResource<'_>, name: &str) -> Self {
        ApiError::conflict(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 401 Unauthorized: missing or refused credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(401, "Unauthorized", message)
    }

    /// 429 TooManyRequests, with a retry hint in seconds.
    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u32) -> Self {
        let mut err = ApiError::new(429, "TooManyRequests", message);
        err.retry_after_seconds = Some(retry_after_seconds);
        err
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(403, "Forbidden", message)
    }

    /// 410 Gone with reason Expired (a compacted resourceVersion or continue token).
    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError::new(413, "RequestEntityTooLarge", message)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        ApiError::new(415, "UnsupportedMediaType", message)
    }

    /// 422 Invalid with field causes. `kind` is the object's kind
    /// (`ConfigMap`), as Kubernetes names it in this message.
    pub fn invalid(gr: GroupResource<'_>, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let list: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let message = if list.len() == 1 {
            format!("{kind} \"{name}\" is invalid: {}", list[0])
        } else {
            format!("{kind} \"{name}\" is invalid: [{}]", list.join(", "))
        };
        let mut err = ApiError::new(422, "Invalid", message).with_resource(gr, name);
        err.kind = Some(kind.to_owned());
        err.causes = causes;
        err
    }

    /// 500 InternalError. The message must not carry secrets.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, "InternalError", message)
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(503, "ServiceUnavailable", message)
    }

    /// 504 Timeout with a retry hint (e.g. a write that could not be
    /// committed in time).
    pub fn timeout(message: impl Into<String>) -> Self {
        let mut err = ApiError::new(504, "Timeout", message);
        err.retry_after_seconds = Some(1);
        err
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        let mut details = serde_json::Map::new();
        if let Some(name) = &self.name {
            details.insert("name".into(), json!(name));
        }
        if let Some(group) = &self.group {
            details.insert("group".into(), json!(group));
        }
        if let Some(kind) = &self.kind {
            details.insert("kind".into(), json!(kind));
        }
        if !self.causes.is_empty() {
            details.insert("causes".into(), json!(self.causes));
        }
        if let Some(seconds) = self.retry_after_seconds {
            details.insert("retryAfterSeconds".into(), json!(seconds));
        }
        if !details.is_empty() {
            status["details"] = Value::Object(details);
        }
        status
    }
}

/// A `Status` object for a successful delete of a whole collection or an
/// object that is gone.
pub fn success_status(gr: GroupResource<'_>, name: &str, uid: Option<&str>) -> Value {
    let mut details = json!({"name": name, "kind": gr.resource});
    if !gr.group.is_empty() {
        details["group"] = json!(gr.group);
    }
    if let Some(uid) = uid {
        details["uid"] = json!(uid);
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

/// Store errors as the API answers them: a compacted revision is 410
/// Expired, a future one 504 Timeout (as kube-apiserver answers a
/// resourceVersion it has not reached), a closed store 503.
impl From<ks_store::StoreError> for ApiError {
    fn from(err: ks_store::StoreError) -> ApiError {
        use ks_store::StoreError;
        match err {
            StoreError::Compacted {
                requested,
                compacted,
            } => ApiError::expired(format!(
                "too old resource version: {requested} ({compacted})"
            )),
            StoreError::FutureRevision { requested, current } => ApiError::timeout(format!(
                "Too large resource version: {requested}, current: {current}"
            )),
            StoreError::Closed => ApiError::unavailable("the server is shutting down"),
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// A Kubernetes field error as a Status cause.
impl From<ks_types::validation::FieldError> for Cause {
    fn from(e: ks_types::validation::FieldError) -> Cause {
        Cause {
            reason: e.error_type.reason().to_owned(),
            message: e.body(),
            field: e.field,
        }
    }
}

/// The error as a `Status` response (with `Retry-After` when it has a
/// retry hint).
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        crate::api::error_response(&self)
    }
}

impl axum::response::IntoResponse for &ApiError {
    fn into_response(self) -> axum::response::Response {
        crate::api::error_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_matches_kube_apiserver() {
        let err = ApiError::not_found(
            GroupResource {
                group: "",
                resource: "configmaps",
            },
            "x",
        );
        assert_eq!(
            err.to_status(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"configmaps \"x\" not found","reason":"NotFound",
                   "details":{"name":"x","kind":"configmaps"},"code":404})
        );
        let err = ApiError::not_found(
            GroupResource {
                group: "iam.kubesphere.io",
                resource: "users",
            },
            "u",
        );
        assert_eq!(err.message, "users.iam.kubesphere.io \"u\" not found");
        assert_eq!(err.to_status()["details"]["group"], "iam.kubesphere.io");
    }

    #[test]
    fn invalid_lists_causes() {
        let gr = GroupResource {
            group: "",
            resource: "configmaps",
        };
        let one = vec![Cause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value: \"A\": bad".into(),
            field: "metadata.name".into(),
        }];
        let err = ApiError::invalid(gr, "ConfigMap", "A", one.clone());
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "ConfigMap \"A\" is invalid: metadata.name: Invalid value: \"A\": bad"
        );
        let two = vec![one[0].clone(), one[0].clone()];
        let err = ApiError::invalid(gr, "ConfigMap", "A", two);
        assert!(
            err.message
                .starts_with("ConfigMap \"A\" is invalid: [metadata.name: ")
        );
        assert_eq!(
            err.to_status()["details"]["causes"][1]["field"],
            "metadata.name"
        );
    }
}
