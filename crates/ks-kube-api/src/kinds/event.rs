//! core/v1 Event: what controllers record about the objects they act on.

use k8s_openapi::api::core::v1::Event;
use serde_json::{Value, json};

use super::{Names, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::object::{age_seconds, human_duration, meta_str};
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::{Cell, TableColumn};
use ks_types::validation::{FieldError, FieldPath};

/// core/v1 Event.
#[derive(Debug)]
pub struct Events;

/// Only metadata carries patch strategies.
static STRATEGIC: StrategicSchema = StrategicSchema::new("", "Event", Shape::Struct(&[METADATA]));

impl Strategy for Events {
    fn names(&self) -> Names {
        Names::new("", "v1", "Event", "events").short_names(&["ev"])
    }

    /// Kubernetes checks that an event about a namespaced object lives in
    /// that object's namespace.
    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        let event: Event = cx.decode(obj)?;
        let namespace = meta_str(obj, "namespace");
        if let Some(involved) = event.involved_object.namespace.as_deref()
            && !involved.is_empty()
            && involved != namespace
        {
            cx.push(FieldError::invalid(
                &FieldPath::new("involvedObject.namespace"),
                involved,
                "does not match event.namespace",
            ));
        }
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
