//! events.k8s.io/v1 Event: the Event API kube-runtime's `Recorder` and
//! client-go's `events` package write. As in Kubernetes, these are the
//! core/v1 Events under another name: stored as core/v1 Events (under
//! `/core/events/`), converted field by field on every write and read, so
//! `kubectl get events` shows what a `Recorder` published and the other
//! way round.
//!
//! The conversion is Kubernetes' (k8s.io/kubernetes
//! pkg/apis/events/v1/conversion.go): seven fields change name, the rest
//! (metadata, `action`, `reason`, `type`, `eventTime`, `series`,
//! `related`, `reportingInstance`) keep it.

use k8s_openapi::api::events::v1::Event;
use serde_json::{Map, Value};

use super::event::{EventFacts, str_of, validate_legacy};
use super::{
    Names, SelectableField, SelectableFields, StoredAs, Strategy, Validation, encode, openapi_of,
};
use crate::error::ApiResult;
use crate::object::meta_str;
use crate::patch::{METADATA, Shape, StrategicSchema};
use crate::table::TableColumn;
use ks_types::validation::{FieldError, FieldPath};

/// events.k8s.io/v1 Event, stored as a core/v1 Event.
#[derive(Debug)]
pub struct Events;

/// The fields an events.k8s.io/v1 selector may name beyond metadata, by
/// their events.k8s.io names only (Kubernetes'
/// `pkg/apis/events/v1/conversion.go` maps each to the core field of
/// `ToSelectableFields`; `involvedObject.*`, `reportingComponent`,
/// `deprecatedSource` and `note` are refused). The values are read from
/// the stored core/v1 form, as the core fields of the same meaning.
pub const SELECTABLE: &[SelectableField] = &[
    SelectableField::new("reason", &["reason"]),
    SelectableField::new("regarding.kind", &["involvedObject.kind"]),
    SelectableField::new("regarding.namespace", &["involvedObject.namespace"]),
    SelectableField::new("regarding.name", &["involvedObject.name"]),
    SelectableField::new("regarding.uid", &["involvedObject.uid"]),
    SelectableField::new("regarding.apiVersion", &["involvedObject.apiVersion"]),
    SelectableField::new(
        "regarding.resourceVersion",
        &["involvedObject.resourceVersion"],
    ),
    SelectableField::new("regarding.fieldPath", &["involvedObject.fieldPath"]),
    SelectableField::new("reportingController", &["reportingComponent"]),
    // Kept by Kubernetes though events.k8s.io has no `source` field: the
    // deprecated source's component, else the reporting controller.
    SelectableField::new("source", &["source.component", "reportingComponent"]),
    SelectableField::new("type", &["type"]),
];

/// Only metadata carries patch strategies.
static STRATEGIC: StrategicSchema =
    StrategicSchema::new("events.k8s.io", "Event", Shape::Struct(&[METADATA]));

/// The events.k8s.io/v1 fields whose core/v1 name differs, with that name.
pub const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
];

/// Moves an events.k8s.io/v1 Event's fields to their core/v1 names (the
/// values move; nothing is copied).
pub fn to_core(event: &mut Map<String, Value>) {
    for (ours, core) in RENAMED {
        if let Some(value) = event.remove(ours) {
            event.insert(core.to_owned(), value);
        }
    }
}

/// Moves a core/v1 Event's fields to their events.k8s.io/v1 names: the
/// inverse of [`to_core`].
pub fn from_core(event: &mut Map<String, Value>) {
    for (ours, core) in RENAMED {
        if let Some(value) = event.remove(core) {
            event.insert(ours.to_owned(), value);
        }
    }
}

impl Strategy for Events {
    /// No short name: Kubernetes gives `ev` to core events only.
    fn names(&self) -> Names {
        Names::new("events.k8s.io", "v1", "Event", "events")
    }

    /// Kubernetes' `ValidateEventCreate` and `ValidateEventUpdate` for a
    /// request through events.k8s.io/v1 (k8s.io/kubernetes
    /// pkg/apis/core/validation/events.go): the legacy rules every event
    /// passes, then the strict ones of the new API. Field paths are the
    /// core names, as Kubernetes reports them.
    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let event: Event = cx.decode(obj)?;
        cx.extend(validate_legacy(&EventFacts {
            namespace: meta_str(obj, "namespace"),
            involved_namespace: event
                .regarding
                .as_ref()
                .map_or("", |r| str_of(&r.namespace)),
            has_event_time: event.event_time.is_some(),
            reporting_controller: str_of(&event.reporting_controller),
            reporting_instance: str_of(&event.reporting_instance),
            action: str_of(&event.action),
            reason: str_of(&event.reason),
            message: str_of(&event.note),
        }));
        let encoded = encode(&event)?;
        match old {
            None => cx.extend(strict_create(&event)),
            Some(old) => cx.extend(strict_update(&event, &encoded, old)),
        }
        *obj = encoded;
        Ok(())
    }

    /// kube-apiserver prints both Event APIs with one printer: the core
    /// event columns, computed from the stored (core) form.
    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        super::event::Events.table_columns()
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&STRATEGIC)
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<Event>(generator))
    }

    fn stored_as(&self) -> Option<StoredAs> {
        Some(StoredAs {
            group: "",
            plural: "events",
            api_version: "v1",
            kind: "Event",
            to_storage: to_core,
            from_storage: from_core,
        })
    }

    fn selectable_fields(&self) -> SelectableFields {
        SelectableFields::Kind {
            namespace: true,
            fields: SELECTABLE,
        }
    }
}

/// A series repeats an event: at least twice. (A series without
/// `lastObservedTime` does not decode, so Kubernetes' Required error on it
/// cannot arise here.)
fn series_errors(event: &Event) -> Vec<FieldError> {
    match &event.series {
        Some(series) if series.count < 2 => vec![FieldError::invalid(
            &FieldPath::new("series.count"),
            "",
            "should be at least 2",
        )],
        _ => Vec::new(),
    }
}

/// The strict rules of a create through the new API: an event time, a
/// known type, a valid series, and none of the deprecated fields.
fn strict_create(event: &Event) -> Vec<FieldError> {
    let mut errors = series_errors(event);
    if event.event_time.is_none() {
        errors.push(FieldError::required(&FieldPath::new("eventTime"), ""));
    }
    let type_ = event.type_.as_deref().unwrap_or("");
    if !matches!(type_, "Normal" | "Warning") {
        errors.push(FieldError::invalid(
            &FieldPath::new("type"),
            "",
            format!("has invalid value: {type_}"),
        ));
    }
    let must_be_unset =
        |field: &str| FieldError::invalid(&FieldPath::new(field), "", "needs to be unset");
    if event.deprecated_first_timestamp.is_some() {
        errors.push(must_be_unset("firstTimestamp"));
    }
    if event.deprecated_last_timestamp.is_some() {
        errors.push(must_be_unset("lastTimestamp"));
    }
    if event.deprecated_count.is_some_and(|n| n != 0) {
        errors.push(must_be_unset("count"));
    }
    if let Some(source) = &event.deprecated_source
        && (source.component.as_deref().is_some_and(|c| !c.is_empty())
            || source.host.as_deref().is_some_and(|h| !h.is_empty()))
    {
        errors.push(must_be_unset("source"));
    }
    errors
}

/// The fields an update through the new API may not change, by their
/// events.k8s.io/v1 name, with the path Kubernetes reports (in its order).
const IMMUTABLE: [(&str, &str); 13] = [
    ("regarding", "involvedObject"),
    ("reason", "reason"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("type", "type"),
    ("eventTime", "eventTime"),
    ("action", "action"),
    ("related", "related"),
    ("reportingController", "reportingController"),
    ("reportingInstance", "reportingInstance"),
];

/// The strict rules of an update through the new API: a changed series
/// must be valid, and nothing else but metadata and the series may change.
/// `new` (`event` encoded) and `old` are events.k8s.io/v1 JSON.
fn strict_update(event: &Event, new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !same(new.get("series"), old.get("series")) {
        errors.extend(series_errors(event));
    }
    for (field, path) in IMMUTABLE {
        let value = new.get(field);
        if !same(value, old.get(field)) {
            let shown = match value {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            errors.push(FieldError::invalid(
                &FieldPath::new(path),
                &shown,
                "field is immutable",
            ));
        }
    }
    errors
}

/// Equal as Kubernetes compares them: its Go fields have zero values, so
/// a missing field, `null`, `""`, `0` and `{}` are all the same.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn zero(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(Value::Object(m)) => m.values().all(|v| zero(Some(v))),
            Some(_) => false,
        }
    }
    a == b || (zero(a) && zero(b))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1 as core;
    use proptest::prelude::*;
    use proptest::strategy::Strategy;
    use serde_json::json;

    use super::*;
    use crate::api::IncludeObject;
    use crate::kinds::FieldValidation;
    use crate::kinds::Strategy as _;
    use crate::kinds::event::NOTE_LIMIT;
    use crate::resources::ResourceDef;

    fn def() -> ResourceDef {
        ResourceDef::of(Arc::new(Events))
    }

    /// What kube-runtime's `Recorder` creates.
    fn recorded() -> Value {
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "cm.17f0", "namespace": "default"},
            "eventTime": "2026-01-02T03:04:05.123456Z",
            "regarding": {"kind": "ConfigMap", "name": "cm", "namespace": "default", "apiVersion": "v1"},
            "note": "synced",
            "reason": "Synced",
            "action": "Reconcile",
            "type": "Normal",
            "reportingController": "ks-controller-manager",
            "reportingInstance": "ks-controller-manager-0",
        })
    }

    fn validate(obj: &mut Value, old: Option<&Value>) -> Vec<String> {
        let mut cx = Validation::new(FieldValidation::Strict);
        Events.validate(obj, old, &mut cx).unwrap();
        cx.causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn stored_under_core_events_as_core_events() {
        let def = def();
        assert_eq!(def.key("default", "a"), "/core/events/default/a");
        assert!(!def.storage);
        assert!(def.short_names.is_empty());
        let stored = def.stored(recorded());
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["message"], "synced");
        assert_eq!(stored["involvedObject"]["name"], "cm");
        assert_eq!(stored["reportingComponent"], "ks-controller-manager");
        assert!(stored.get("note").is_none() && stored.get("regarding").is_none());
        // Read back through either API.
        assert_eq!(def.served(stored.clone()), recorded());
        let core = ResourceDef::of(Arc::new(crate::kinds::event::Events));
        assert_eq!(core.served(stored.clone()), stored);
        let bytes = serde_json::to_vec(&stored).unwrap();
        let served = crate::api::read::served_bytes(&def, &bytes).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&served).unwrap(),
            recorded()
        );
    }

    #[test]
    fn a_recorded_event_is_valid_and_its_series_may_grow() {
        let mut event = recorded();
        assert_eq!(validate(&mut event, None), Vec::<String>::new());
        let old = event.clone();
        event["series"] = json!({"count": 2, "lastObservedTime": "2026-01-02T03:05:05.000000Z"});
        assert_eq!(validate(&mut event, Some(&old)), Vec::<String>::new());
        event["series"]["count"] = json!(1);
        assert_eq!(
            validate(&mut event, Some(&old)),
            ["series.count: Invalid value: \"\": should be at least 2"]
        );
    }

    #[test]
    fn creates_follow_kubernetes_rules_with_core_paths() {
        let mut event = json!({
            "metadata": {"name": "e", "namespace": "apps"},
            "eventTime": "2026-01-02T03:04:05.000000Z",
            "regarding": {"kind": "Node", "name": "n1"},
            "note": "x".repeat(NOTE_LIMIT + 1),
            "reason": "r".repeat(129),
            "type": "Bad",
            "reportingController": "Not A Name",
            "deprecatedCount": 3,
            "deprecatedSource": {"component": "kubelet"},
        });
        let errors = validate(&mut event, None);
        assert_eq!(
            errors,
            [
                "involvedObject.namespace: Invalid value: \"\": does not match event.namespace",
                "reportingController: Invalid value: \"Not A Name\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                "reportingInstance: Required value",
                "action: Required value",
                "reason: Invalid value: \"\": can have at most 128 characters",
                "message: Invalid value: \"\": can have at most 1024 characters",
                "type: Invalid value: \"\": has invalid value: Bad",
                "count: Invalid value: \"\": needs to be unset",
                "source: Invalid value: \"\": needs to be unset",
            ]
        );
        let mut no_time = recorded();
        no_time.as_object_mut().unwrap().remove("eventTime");
        no_time["regarding"]["namespace"] = json!("other");
        assert_eq!(
            validate(&mut no_time, None),
            [
                "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace",
                "eventTime: Required value",
            ]
        );
    }

    #[test]
    fn updates_keep_the_event_and_compare_like_go() {
        let mut old = recorded();
        validate(&mut old, None);
        let mut new = old.clone();
        new["note"] = json!("changed");
        new["regarding"]["name"] = json!("other");
        new["metadata"]["labels"] = json!({"a": "b"});
        assert_eq!(
            validate(&mut new, Some(&old)),
            [
                "involvedObject: Invalid value: \"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"ConfigMap\\\",\\\"name\\\":\\\"other\\\",\\\"namespace\\\":\\\"default\\\"}\": field is immutable",
                "message: Invalid value: \"changed\": field is immutable",
            ]
        );
        // Missing and zero are the same to Kubernetes.
        let mut old = recorded();
        old["deprecatedCount"] = json!(0);
        old["related"] = json!({});
        let mut new = recorded();
        assert_eq!(validate(&mut new, Some(&old)), Vec::<String>::new());
    }

    #[test]
    fn tables_print_the_core_event_columns() {
        let core = ResourceDef::of(Arc::new(crate::kinds::event::Events));
        let stored = def().stored(recorded());
        let ours = crate::table::table(
            &def(),
            &[recorded()],
            "v1",
            IncludeObject::Object,
            None,
            None,
            true,
        );
        let theirs = crate::table::table(
            &core,
            &[stored],
            "v1",
            IncludeObject::None,
            None,
            None,
            true,
        );
        assert_eq!(ours["columnDefinitions"], theirs["columnDefinitions"]);
        assert_eq!(ours["rows"][0]["cells"], theirs["rows"][0]["cells"]);
        let cells = &ours["rows"][0]["cells"];
        assert_eq!(cells[1], "Normal");
        assert_eq!(cells[3], "configmap/cm");
        assert_eq!(cells[5], "ks-controller-manager, ks-controller-manager-0");
        assert_eq!(cells[6], "synced");
        // The row's object is the served form.
        assert_eq!(ours["rows"][0]["object"], recorded());
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        prop::option::of("[a-z0-9.-]{0,10}")
    }

    /// A timestamp, at second precision (`Time`) or microseconds (`MicroTime`).
    fn time(micro: bool) -> impl Strategy<Value = Option<String>> {
        prop::option::of((0i64..4_000_000_000, 0i64..1_000_000)).prop_map(move |t| {
            t.map(|(secs, micros)| {
                let ts = jiff::Timestamp::from_second(secs).unwrap();
                if micro {
                    format!("{}.{micros:06}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"))
                } else {
                    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
                }
            })
        })
    }

    /// An object with the given optional fields (absent when `None`).
    fn object(fields: Vec<(&'static str, Option<Value>)>) -> Option<Value> {
        let map: Map<String, Value> = fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect();
        Some(Value::Object(map))
    }

    fn reference() -> impl Strategy<Value = Option<Value>> {
        prop::option::of((text(), text(), text(), text(), text(), text(), text())).prop_map(|r| {
            r.and_then(
                |(api_version, kind, name, namespace, uid, field_path, rv)| {
                    let s = |v: Option<String>| v.map(Value::String);
                    object(vec![
                        ("apiVersion", s(api_version)),
                        ("kind", s(kind)),
                        ("name", s(name)),
                        ("namespace", s(namespace)),
                        ("uid", s(uid)),
                        ("fieldPath", s(field_path)),
                        ("resourceVersion", s(rv)),
                    ])
                },
            )
        })
    }

    /// events.k8s.io/v1 Events with any subset of their fields set.
    fn any_event() -> impl Strategy<Value = Value> {
        let strings = (text(), text(), text(), text(), text(), text(), text());
        let times = (time(false), time(false), time(true), time(true));
        let parts = (
            reference(),
            reference(),
            prop::option::of((text(), text())),
            prop::option::of(any::<i32>()),
            prop::option::of(any::<i32>()),
            prop::collection::btree_map("[a-z]{1,5}", "[a-z0-9]{0,5}", 0..3),
        );
        (strings, times, parts).prop_map(|(strings, times, parts)| {
            let (name, namespace, note, reason, action, controller, instance) = strings;
            let (first, last, event_time, observed) = times;
            let (regarding, related, source, count, series_count, labels) = parts;
            let s = |v: Option<String>| v.map(Value::String);
            let source = source.and_then(|(component, host)| {
                object(vec![("component", s(component)), ("host", s(host))])
            });
            let series = series_count
                .zip(observed)
                .map(|(count, at)| json!({"count": count, "lastObservedTime": at}));
            object(vec![
                ("apiVersion", Some(json!("events.k8s.io/v1"))),
                ("kind", Some(json!("Event"))),
                (
                    "metadata",
                    Some(json!({"name": name, "namespace": namespace, "labels": labels})),
                ),
                ("note", s(note)),
                ("reason", s(reason)),
                ("action", s(action)),
                ("type", Some(json!("Warning"))),
                ("reportingController", s(controller)),
                ("reportingInstance", s(instance)),
                ("eventTime", s(event_time)),
                ("deprecatedFirstTimestamp", s(first)),
                ("deprecatedLastTimestamp", s(last)),
                ("deprecatedCount", count.map(Value::from)),
                ("deprecatedSource", source),
                ("regarding", regarding),
                ("related", related),
                ("series", series),
            ])
            .unwrap_or_default()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every events.k8s.io/v1 field lands on its core/v1 counterpart,
        /// and converting back gives the event unchanged.
        #[test]
        fn prop_events_round_trip_through_core(event in any_event()) {
            // The server stores what the typed form encodes.
            let typed: Event = serde_json::from_value(event).unwrap();
            let served = encode(&typed).unwrap();
            let stored = def().stored(served.clone());
            let core: core::Event = serde_json::from_value(stored.clone()).unwrap();
            prop_assert_eq!(&core.metadata, &typed.metadata);
            prop_assert_eq!(&core.message, &typed.note);
            prop_assert_eq!(&core.involved_object, &typed.regarding.clone().unwrap_or_default());
            prop_assert_eq!(&core.related, &typed.related);
            prop_assert_eq!(&core.source, &typed.deprecated_source);
            prop_assert_eq!(&core.first_timestamp, &typed.deprecated_first_timestamp);
            prop_assert_eq!(&core.last_timestamp, &typed.deprecated_last_timestamp);
            prop_assert_eq!(core.count, typed.deprecated_count);
            prop_assert_eq!(&core.reporting_component, &typed.reporting_controller);
            prop_assert_eq!(&core.reporting_instance, &typed.reporting_instance);
            prop_assert_eq!(&core.action, &typed.action);
            prop_assert_eq!(&core.reason, &typed.reason);
            prop_assert_eq!(&core.type_, &typed.type_);
            prop_assert_eq!(&core.event_time, &typed.event_time);
            prop_assert_eq!(
                core.series.as_ref().map(|s| (s.count, s.last_observed_time.clone())),
                typed.series.as_ref().map(|s| (Some(s.count), Some(s.last_observed_time.clone())))
            );
            prop_assert_eq!(def().served(stored), served);
        }

        /// And the other way: a stored core/v1 event read through
        /// events.k8s.io/v1 and written back is stored unchanged.
        #[test]
        fn prop_core_events_round_trip_through_events_v1(event in any_event()) {
            let typed: Event = serde_json::from_value(event).unwrap();
            let stored = def().stored(encode(&typed).unwrap());
            let core: core::Event = serde_json::from_value(stored).unwrap();
            let stored = encode(&core).unwrap();
            let served = def().served(stored.clone());
            prop_assert_eq!(served["apiVersion"].as_str(), Some("events.k8s.io/v1"));
            let _: Event = serde_json::from_value(served.clone()).unwrap();
            prop_assert_eq!(def().stored(served), stored);
        }
    }
}
