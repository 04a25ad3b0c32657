//! core/v1 Event: what controllers record about the objects they act on.

use k8s_openapi::api::core::v1::Event;
use serde_json::{Value, json};

use super::{Names, SelectableField, SelectableFields, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::object::{age_seconds, human_duration, meta_str};
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::{Cell, TableColumn};
use ks_types::validation::{FieldError, FieldPath, qualified_name};

/// core/v1 Event.
#[derive(Debug)]
pub struct Events;

/// The fields a core/v1 event selector may name beyond metadata
/// (Kubernetes' `pkg/apis/core/v1/conversion.go` field label conversion
/// for Event, valued by `pkg/registry/core/event/strategy.go`
/// `ToSelectableFields`): `source` is `source.component`, else the
/// reporting component, as Kubernetes falls back to `reportingController`.
pub const SELECTABLE: &[SelectableField] = &[
    SelectableField::new("involvedObject.kind", &["involvedObject.kind"]),
    SelectableField::new("involvedObject.namespace", &["involvedObject.namespace"]),
    SelectableField::new("involvedObject.name", &["involvedObject.name"]),
    SelectableField::new("involvedObject.uid", &["involvedObject.uid"]),
    SelectableField::new("involvedObject.apiVersion", &["involvedObject.apiVersion"]),
    SelectableField::new(
        "involvedObject.resourceVersion",
        &["involvedObject.resourceVersion"],
    ),
    SelectableField::new("involvedObject.fieldPath", &["involvedObject.fieldPath"]),
    SelectableField::new("reason", &["reason"]),
    SelectableField::new("reportingComponent", &["reportingComponent"]),
    SelectableField::new("source", &["source.component", "reportingComponent"]),
    SelectableField::new("type", &["type"]),
];

/// Only metadata carries patch strategies.
static STRATEGIC: StrategicSchema = StrategicSchema::new("", "Event", Shape::Struct(&[METADATA]));

impl Strategy for Events {
    fn names(&self) -> Names {
        Names::new("", "v1", "Event", "events").short_names(&["ev"])
    }

    /// Writes through core/v1 pass Kubernetes' legacy event validation
    /// only (`legacyValidateEvent`, see `validate_legacy`), on create and
    /// update alike.
    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        let event: Event = cx.decode(obj)?;
        cx.extend(validate_legacy(&EventFacts {
            namespace: meta_str(obj, "namespace"),
            involved_namespace: str_of(&event.involved_object.namespace),
            has_event_time: event.event_time.is_some(),
            reporting_controller: str_of(&event.reporting_component),
            reporting_instance: str_of(&event.reporting_instance),
            action: str_of(&event.action),
            reason: str_of(&event.reason),
            message: str_of(&event.message),
        }));
        *obj = encode(&event)?;
        Ok(())
    }

    /// kube-apiserver's event columns, the wide ones at priority 1.
    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        let computed = |title: &str,
                        type_: &str,
                        description: &str,
                        priority: i32,
                        cell: fn(&Value) -> Value| TableColumn {
            definition: TableColumn::definition(title, type_, "", description, priority),
            cell: Cell::Computed(cell),
        };
        let path = |title: &str, path: &str, description: &str, priority: i32| {
            TableColumn::path(title, "string", path, description, priority)
        };
        Some(vec![
            computed(
                "Last Seen",
                "string",
                "Time when last observed",
                0,
                last_seen,
            ),
            path(
                "Type",
                ".type",
                "Type of this event (Normal, Warning), new types could be added in the future.",
                0,
            ),
            path(
                "Reason",
                ".reason",
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
                0,
            ),
            computed(
                "Object",
                "string",
                "The object that this event is about.",
                0,
                target,
            ),
            path(
                "Subobject",
                ".involvedObject.fieldPath",
                "The field of the object this event is about.",
                1,
            ),
            computed(
                "Source",
                "string",
                "The component reporting this event.",
                1,
                source,
            ),
            computed(
                "Message",
                "string",
                "A human-readable description of the status of this operation.",
                0,
                |obj| {
                    json!(
                        obj.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .trim()
                    )
                },
            ),
            computed(
                "First Seen",
                "string",
                "The time at which the event was first recorded.",
                1,
                first_seen,
            ),
            computed(
                "Count",
                "integer",
                "The number of times this event has occurred.",
                1,
                count,
            ),
            computed("Name", "string", "The name of the event.", 1, |obj| {
                json!(meta_str(obj, "name"))
            }),
        ])
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<Event>(generator))
    }

    fn selectable_fields(&self) -> SelectableFields {
        SelectableFields::Kind {
            namespace: true,
            fields: SELECTABLE,
        }
    }
}

/// The fields of an Event that Kubernetes' legacy validation reads,
/// whichever API the event came through (events.k8s.io/v1 names some of
/// them differently: `regarding`, `note`, `reportingController`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventFacts<'a> {
    /// `metadata.namespace`.
    pub(crate) namespace: &'a str,
    /// The namespace of the object the event is about.
    pub(crate) involved_namespace: &'a str,
    /// Whether `eventTime` is set: events written by the new API have it.
    pub(crate) has_event_time: bool,
    /// core `reportingComponent`, events.k8s.io `reportingController`.
    pub(crate) reporting_controller: &'a str,
    /// `reportingInstance`.
    pub(crate) reporting_instance: &'a str,
    /// `action`.
    pub(crate) action: &'a str,
    /// `reason`.
    pub(crate) reason: &'a str,
    /// core `message`, events.k8s.io `note`.
    pub(crate) message: &'a str,
}

/// An optional string field, empty when unset.
pub(crate) fn str_of(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or("")
}

/// Longest `reportingInstance`, `action` and `reason` Kubernetes accepts.
const SHORT_FIELD_LIMIT: usize = 128;
/// Longest `message` (events.k8s.io `note`) Kubernetes accepts, in bytes.
pub(crate) const NOTE_LIMIT: usize = 1024;

/// Kubernetes' `legacyValidateEvent` (k8s.io/kubernetes
/// pkg/apis/core/validation/events.go), which every event write passes
/// through either API. An old-style event (no `eventTime`) lives in the
/// namespace of the object it is about, or in `default` (or none) for a
/// cluster-scoped one. A new-style event about a cluster-scoped object
/// lives in `default` or `kube-system`, and names its reporter, action and
/// reason within Kubernetes' limits. As in Kubernetes, the field paths are
/// the core names (`involvedObject`, `message`) whichever API was used.
pub(crate) fn validate_legacy(event: &EventFacts<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let namespace_mismatch = || {
        FieldError::invalid(
            &FieldPath::new("involvedObject.namespace"),
            event.involved_namespace,
            "does not match event.namespace",
        )
    };
    if !event.has_event_time {
        let matches = if event.involved_namespace.is_empty() {
            matches!(event.namespace, "" | "default")
        } else {
            event.namespace == event.involved_namespace
        };
        if !matches {
            errors.push(namespace_mismatch());
        }
        return errors;
    }
    if event.involved_namespace.is_empty() && !matches!(event.namespace, "default" | "kube-system")
    {
        errors.push(namespace_mismatch());
    }
    let controller = FieldPath::new("reportingController");
    if event.reporting_controller.is_empty() {
        errors.push(FieldError::required(&controller, ""));
    }
    for problem in qualified_name(event.reporting_controller) {
        errors.push(FieldError::invalid(
            &controller,
            event.reporting_controller,
            problem,
        ));
    }
    let too_long = |field: &str, limit: usize| {
        FieldError::invalid(
            &FieldPath::new(field),
            "",
            format!("can have at most {limit} characters"),
        )
    };
    for (field, value) in [
        ("reportingInstance", event.reporting_instance),
        ("action", event.action),
        ("reason", event.reason),
    ] {
        if value.is_empty() {
            errors.push(FieldError::required(&FieldPath::new(field), ""));
        }
        if value.len() > SHORT_FIELD_LIMIT {
            errors.push(too_long(field, SHORT_FIELD_LIMIT));
        }
    }
    if event.message.len() > NOTE_LIMIT {
        errors.push(too_long("message", NOTE_LIMIT));
    }
    errors
}

fn since(timestamp: Option<&str>) -> Option<String> {
    timestamp
        .filter(|t| !t.is_empty())
        .and_then(age_seconds)
        .map(human_duration)
}

fn str_at<'v>(obj: &'v Value, pointer: &str) -> Option<&'v str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// `firstTimestamp`, else `eventTime`.
fn first_seen_text(obj: &Value) -> String {
    since(str_at(obj, "/firstTimestamp"))
        .or_else(|| since(str_at(obj, "/eventTime")))
        .unwrap_or_else(|| "<unknown>".to_owned())
}

fn first_seen(obj: &Value) -> Value {
    json!(first_seen_text(obj))
}

/// The series' last observation, else `lastTimestamp`, else the first.
fn last_seen(obj: &Value) -> Value {
    let text = since(str_at(obj, "/series/lastObservedTime"))
        .or_else(|| since(str_at(obj, "/lastTimestamp")))
        .unwrap_or_else(|| first_seen_text(obj));
    json!(text)
}

/// The series' count, else `count`, at least 1.
fn count(obj: &Value) -> Value {
    let n = obj
        .pointer("/series/count")
        .or_else(|| obj.get("count"))
        .and_then(Value::as_i64)
        .filter(|n| *n > 0)
        .unwrap_or(1);
    json!(n)
}

/// `kind/name` of the involved object, the kind in lower case.
fn target(obj: &Value) -> Value {
    let kind = str_at(obj, "/involvedObject/kind")
        .unwrap_or("")
        .to_ascii_lowercase();
    match str_at(obj, "/involvedObject/name") {
        Some(name) if !name.is_empty() => json!(format!("{kind}/{name}")),
        _ => json!(kind),
    }
}

/// `component, host` of `source`, else the reporting controller and
/// instance.
fn source(obj: &Value) -> Value {
    let component = str_at(obj, "/source/component")
        .filter(|s| !s.is_empty())
        .or_else(|| str_at(obj, "/reportingComponent"))
        .unwrap_or("");
    let host = str_at(obj, "/source/host")
        .filter(|s| !s.is_empty())
        .or_else(|| str_at(obj, "/reportingInstance"))
        .unwrap_or("");
    if host.is_empty() {
        json!(component)
    } else {
        json!(format!("{component}, {host}"))
    }
}
