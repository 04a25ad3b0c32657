//! Selectable fields: which fields a field selector may name on a
//! resource, and where their values are in the stored objects.
//!
//! Kubernetes decides both per kind: the field label conversion of the
//! served version says which names a request may use and what they mean
//! (k8s.io/kubernetes `pkg/apis/core/v1/conversion.go`,
//! `pkg/apis/events/v1/conversion.go`), and the strategy's
//! `ToSelectableFields` gives an object's values. One
//! [`SelectableFields`] per served resource holds both: the names it
//! takes and, for each beyond `metadata.name` and `metadata.namespace`,
//! the paths of its value in the *stored* object. For a resource stored as
//! another ([`crate::kinds::StoredAs`]) that is the other resource's form:
//! events.k8s.io/v1 `regarding.kind` reads the stored `involvedObject.kind`.
//!
//! A missing field, like an empty one, is the empty string, as in
//! Kubernetes' `fields.Set`.
//!
//! A selector that names metadata only is matched on a metadata-only
//! decode ([`crate::object::Selectors`]). One that names other fields is
//! compiled once per request into `FieldReads`, which decodes in one
//! pass over the stored bytes just the values it needs, skipping the rest,
//! and borrows them from the bytes when they hold no escapes (see
//! `tests/selector_allocations.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::object::MetaFields;

/// A field a field selector may name beyond `metadata.name` and
/// `metadata.namespace`, and where its value is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectableField {
    /// The name a selector uses (`involvedObject.kind`).
    pub label: &'static str,
    /// Dotted paths into the stored object, outside `metadata`, tried in
    /// order: the first that holds a non-empty value gives the field's
    /// value (core/v1 events' `source` is `source.component`, else
    /// `reportingComponent`). Strings are taken as they are, numbers and
    /// booleans as their JSON text; anything else reads as empty.
    pub paths: &'static [&'static str],
}

impl SelectableField {
    /// A field named `label`, read at `paths`.
    pub const fn new(label: &'static str, paths: &'static [&'static str]) -> Self {
        SelectableField { label, paths }
    }
}

/// The fields a resource's field selectors may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectableFields {
    /// `metadata.name` and `metadata.namespace`: Kubernetes' default for a
    /// kind without a field label conversion of its own
    /// (`runtime.DefaultMetaV1FieldSelectorConversion`), cluster-scoped
    /// kinds included (where `metadata.namespace` is empty).
    Metadata,
    /// A kind's own list, as its field label conversion has it:
    /// `metadata.name`, `metadata.namespace` when `namespace` is true, and
    /// `fields`.
    Kind {
        /// Whether `metadata.namespace` may be named (Kubernetes refuses it
        /// on namespaces and on cluster-scoped custom resources).
        namespace: bool,
        /// The fields beyond metadata.
        fields: &'static [SelectableField],
    },
}

/// What one name in a field selector refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selectable {
    /// `metadata.name`.
    Name,
    /// `metadata.namespace`.
    Namespace,
    /// A field beyond metadata.
    Field(&'static SelectableField),
}

impl SelectableFields {
    /// What `label` refers to, or Kubernetes' message for a name the
    /// resource does not take (a 400 Bad Request).
    pub fn resolve(&self, label: &str) -> Result<Selectable, String> {
        let namespace = match self {
            Self::Metadata => true,
            Self::Kind { namespace, .. } => *namespace,
        };
        match label {
            "metadata.name" => return Ok(Selectable::Name),
            "metadata.namespace" if namespace => return Ok(Selectable::Namespace),
            _ => {}
        }
        match self {
            Self::Metadata => Err(format!(
                "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )),
            Self::Kind { fields, .. } => fields
                .iter()
                .find(|f| f.label == label)
                .map(Selectable::Field)
                .ok_or_else(|| format!("field label not supported: {label}")),
        }
    }

    /// Every name a selector may use, metadata first.
    pub fn labels(&self) -> Vec<&'static str> {
        let mut out = vec!["metadata.name"];
        match self {
            Self::Metadata => out.push("metadata.namespace"),
            Self::Kind { namespace, fields } => {
                if *namespace {
                    out.push("metadata.namespace");
                }
                out.extend(fields.iter().map(|f| f.label));
            }
        }
        out
    }
}

/// The values a field selector reads beyond metadata, compiled once per
/// request: the stored paths to read, as a tree walked in one pass over
/// an object, and for each named field the leaves its value comes from.
#[derive(Debug)]
pub(crate) struct FieldReads {
    tree: PathNode,
    fields: Vec<(&'static str, Vec<usize>)>,
    leaves: usize,
}

/// One key of the tree: the leaf index when a value is read here, and the
/// keys below.
#[derive(Debug, Default)]
struct PathNode {
    leaf: Option<usize>,
    children: Vec<(&'static str, PathNode)>,
}

/// An object's values for the fields of a [`FieldReads`], borrowed from
/// the stored bytes where possible.
#[derive(Debug, Default)]
pub(crate) struct FieldValues<'de> {
    /// The object's metadata, when asked for (else empty).
    pub(crate) meta: MetaFields,
    leaves: Vec<Option<Cow<'de, str>>>,
}

impl FieldReads {
    /// Reads for `fields` (duplicates are read once).
    pub(crate) fn new<'f>(fields: impl IntoIterator<Item = &'f SelectableField>) -> Self {
        let mut reads = FieldReads {
            tree: PathNode::default(),
            fields: Vec::new(),
            leaves: 0,
        };
        for field in fields {
            if reads.fields.iter().any(|(label, _)| *label == field.label) {
                continue;
            }
            let leaves = field.paths.iter().map(|path| reads.leaf(path)).collect();
            reads.fields.push((field.label, leaves));
        }
        reads
    }

    /// The leaf of a dotted path, added when new.
    fn leaf(&mut self, path: &'static str) -> usize {
        let mut node = &mut self.tree;
        for segment in path.split('.') {
            let at = match node.children.iter().position(|(k, _)| *k == segment) {
                Some(at) => at,
                None => {
                    node.children.push((segment, PathNode::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[at].1;
        }
        *node.leaf.get_or_insert_with(|| {
            self.leaves += 1;
            self.leaves - 1
        })
    }

    /// Decodes a stored object's values, and its metadata when `with_meta`
    /// (a label selector or a `metadata.*` term needs it). Fails when the
    /// bytes are not a JSON object.
    pub(crate) fn read<'de>(
        &self,
        stored: &'de [u8],
        with_meta: bool,
    ) -> Result<FieldValues<'de>, serde_json::Error> {
        let mut values = FieldValues {
            meta: MetaFields::default(),
            leaves: vec![None; self.leaves],
        };
        let mut de = serde_json::Deserializer::from_slice(stored);
        Walk {
            node: &self.tree,
            leaves: &mut values.leaves,
            meta: with_meta.then_some(&mut values.meta),
            root: true,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(values)
    }

    /// The value of the field named `label` in `values` (the first
    /// non-empty of its paths, else empty); `None` when it is not one of
    /// these reads.
    pub(crate) fn value<'v>(&self, values: &'v FieldValues<'_>, label: &str) -> Option<&'v str> {
        let (_, leaves) = self.fields.iter().find(|(l, _)| *l == label)?;
        Some(
            leaves
                .iter()
                .filter_map(|&i| values.leaves[i].as_deref())
                .find(|v| !v.is_empty())
                .unwrap_or(""),
        )
    }
}

/// Walks one JSON value at a tree node: stores a scalar at a leaf,
/// descends into the keys the node has, skips everything else. At the
/// root, the value must be an object, and `metadata` is decoded into
/// `meta` when given.
struct Walk<'n, 'v, 'de> {
    node: &'n PathNode,
    leaves: &'v mut [Option<Cow<'de, str>>],
    meta: Option<&'v mut MetaFields>,
    root: bool,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.root {
            deserializer.deserialize_map(self)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Walk<'_, '_, 'de> {
    fn put(self, value: Cow<'de, str>) {
        if let Some(i) = self.node.leaf {
            self.leaves[i] = Some(value);
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.put(Cow::Borrowed(v));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.put(Cow::Owned(v.to_owned()));
        Ok(())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.put(Cow::Owned(v));
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.put(Cow::Borrowed(if v { "true" } else { "false" }));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.put(Cow::Owned(v.to_string()));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.put(Cow::Owned(v.to_string()));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if let Some(n) = serde_json::Number::from_f64(v) {
            self.put(Cow::Owned(n.to_string()));
        }
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Walk {
            node,
            leaves,
            mut meta,
            root: _,
        } = self;
        let metadata = meta.is_some();
        while let Some(key) = map.next_key_seed(KeySeed { node, metadata })? {
            match key {
                Key::Metadata => {
                    if let Some(meta) = meta.as_deref_mut() {
                        *meta = map.next_value()?;
                    }
                }
                Key::Child(at) => map.next_value_seed(Walk {
                    node: &node.children[at].1,
                    leaves: &mut *leaves,
                    meta: None,
                    root: false,
                })?,
                Key::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key of an object being walked.
enum Key {
    /// `metadata` at the root, decoded whole.
    Metadata,
    /// One of the node's keys, by index.
    Child(usize),
    /// Not needed.
    Skip,
}

/// Reads a key without keeping it: compares it with the node's keys.
struct KeySeed<'n> {
    node: &'n PathNode,
    metadata: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        if self.metadata && key == "metadata" {
            return Ok(Key::Metadata);
        }
        Ok(self
            .node
            .children
            .iter()
            .position(|(k, _)| *k == key)
            .map_or(Key::Skip, Key::Child))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ks_request_info::selector::{FieldSelector, LabelSelector};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::kinds::{Strategy as _, builtins};
    use crate::object::Selectors;
    use crate::resources::ResourceDef;

    fn core_events() -> SelectableFields {
        crate::kinds::event::Events.selectable_fields()
    }

    fn events_v1() -> SelectableFields {
        crate::kinds::events_v1::Events.selectable_fields()
    }

    fn selectors(fields: &SelectableFields, field: &str, label: &str) -> Selectors {
        let label = (!label.is_empty()).then(|| LabelSelector::parse(label).unwrap());
        Selectors::new(label, Some(FieldSelector::parse(field).unwrap()), fields).unwrap()
    }

    fn refusal(fields: &SelectableFields, label: &str) -> String {
        fields.resolve(label).unwrap_err()
    }

    #[test]
    fn each_kind_takes_kubernetes_names() {
        let namespaces = crate::kinds::namespace::Namespaces.selectable_fields();
        let secrets = crate::kinds::secret::Secrets.selectable_fields();
        let cases: [(&SelectableFields, &[&str]); 5] = [
            (
                &core_events(),
                &[
                    "metadata.name",
                    "metadata.namespace",
                    "involvedObject.kind",
                    "involvedObject.namespace",
                    "involvedObject.name",
                    "involvedObject.uid",
                    "involvedObject.apiVersion",
                    "involvedObject.resourceVersion",
                    "involvedObject.fieldPath",
                    "reason",
                    "reportingComponent",
                    "source",
                    "type",
                ],
            ),
            (
                &events_v1(),
                &[
                    "metadata.name",
                    "metadata.namespace",
                    "reason",
                    "regarding.kind",
                    "regarding.namespace",
                    "regarding.name",
                    "regarding.uid",
                    "regarding.apiVersion",
                    "regarding.resourceVersion",
                    "regarding.fieldPath",
                    "reportingController",
                    "source",
                    "type",
                ],
            ),
            (&namespaces, &["metadata.name", "status.phase"]),
            (&secrets, &["metadata.name", "metadata.namespace", "type"]),
            (
                &SelectableFields::Metadata,
                &["metadata.name", "metadata.namespace"],
            ),
        ];
        for (fields, labels) in cases {
            assert_eq!(fields.labels(), labels);
            for label in labels {
                assert!(fields.resolve(label).is_ok(), "{label}");
            }
        }
    }

    #[test]
    fn unknown_names_get_kubernetes_messages() {
        let namespaces = crate::kinds::namespace::Namespaces.selectable_fields();
        let cases = [
            (
                core_events(),
                "regarding.kind",
                "field label not supported: regarding.kind",
            ),
            (
                core_events(),
                "message",
                "field label not supported: message",
            ),
            (
                core_events(),
                "source.component",
                "field label not supported: source.component",
            ),
            (
                events_v1(),
                "involvedObject.kind",
                "field label not supported: involvedObject.kind",
            ),
            (
                events_v1(),
                "reportingComponent",
                "field label not supported: reportingComponent",
            ),
            (
                events_v1(),
                "deprecatedSource",
                "field label not supported: deprecatedSource",
            ),
            (events_v1(), "note", "field label not supported: note"),
            (
                namespaces,
                "metadata.namespace",
                "field label not supported: metadata.namespace",
            ),
            (
                SelectableFields::Metadata,
                "spec.x",
                r#""spec.x" is not a known field selector: only "metadata.name", "metadata.namespace""#,
            ),
        ];
        for (fields, label, message) in cases {
            assert_eq!(refusal(&fields, label), message);
        }
        let err = Selectors::new(
            None,
            Some(FieldSelector::parse("reason=x,involvedObject.kind=Pod").unwrap()),
            &events_v1(),
        )
        .unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (400, "field label not supported: involvedObject.kind")
        );
    }

    /// Each events.k8s.io/v1 field reads what its core counterpart reads,
    /// by Kubernetes' mapping.
    #[test]
    fn events_v1_fields_read_their_core_counterparts() {
        let core = crate::kinds::event::SELECTABLE;
        for field in crate::kinds::events_v1::SELECTABLE {
            let core_label = match field.label {
                "reportingController" => "reportingComponent".to_owned(),
                label => match label.strip_prefix("regarding.") {
                    Some(rest) => format!("involvedObject.{rest}"),
                    None => label.to_owned(),
                },
            };
            let theirs = core.iter().find(|f| f.label == core_label).unwrap();
            assert_eq!(field.paths, theirs.paths, "{}", field.label);
        }
        assert_eq!(core.len(), crate::kinds::events_v1::SELECTABLE.len());
    }

    /// The tables are well formed: unique names, paths outside metadata
    /// (which is decoded whole), no path both a value and a prefix.
    #[test]
    fn builtin_tables_are_well_formed() {
        for strategy in builtins() {
            let def = ResourceDef::of(Arc::clone(&strategy));
            let SelectableFields::Kind { fields, .. } = def.selectable else {
                continue;
            };
            let paths: Vec<&str> = fields
                .iter()
                .flat_map(|f| f.paths.iter().copied())
                .collect();
            for (i, field) in fields.iter().enumerate() {
                assert!(!field.label.starts_with("metadata."), "{}", field.label);
                assert!(fields[..i].iter().all(|f| f.label != field.label));
                assert!(!field.paths.is_empty());
            }
            for path in &paths {
                assert!(!path.starts_with("metadata"), "{path}");
                assert!(
                    !paths.iter().any(|p| p.starts_with(&format!("{path}."))),
                    "{path}"
                );
            }
        }
    }

    /// A core/v1 Event as stored, from kubectl describe's point of view.
    fn event(fields: Value) -> Vec<u8> {
        let mut obj = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "w1.17f0", "namespace": "default", "labels": {"app": "web"}},
        });
        for (k, v) in fields.as_object().unwrap() {
            obj[k] = v.clone();
        }
        serde_json::to_vec(&obj).unwrap()
    }

    #[test]
    fn events_match_like_kubernetes_fields_sets() {
        let full = event(json!({
            "involvedObject": {"kind": "WorkspaceTemplate", "name": "w1", "uid": "u-1",
                "apiVersion": "tenant.kubesphere.io/v1alpha2", "resourceVersion": "7",
                "fieldPath": "spec.template"},
            "reason": "Synced", "type": "Normal",
            "source": {"component": "kubelet", "host": "n1"},
            "reportingComponent": "ks-controller-manager",
            "message": "synced",
        }));
        let bare = event(json!({"message": "nothing else"}));
        let reporting_only = event(json!({
            "source": {"component": ""},
            "reportingComponent": "ks-controller-manager",
        }));
        let nulls =
            event(json!({"involvedObject": null, "reason": null, "source": {"component": null}}));
        let escaped =
            br#"{"metadata":{"name":"e"},"reason":"a\"b\u00e9","involvedObject":{"name":"w\\1"}}"#
                .to_vec();
        let numbers = event(
            json!({"reason": 5, "type": true, "involvedObject": {"name": ["x"], "kind": {"a": 1}}}),
        );
        let cases: &[(&[u8], &str, &str, bool)] = &[
            // kubectl describe's query for a cluster-scoped object.
            (
                &full,
                "involvedObject.name=w1,involvedObject.namespace=,involvedObject.kind=WorkspaceTemplate,involvedObject.uid=u-1",
                "",
                true,
            ),
            (
                &full,
                "involvedObject.name=w1,involvedObject.namespace=,involvedObject.kind=WorkspaceTemplate,involvedObject.uid=u-2",
                "",
                false,
            ),
            (&full, "involvedObject.namespace!=", "", false),
            (
                &full,
                "involvedObject.apiVersion=tenant.kubesphere.io/v1alpha2,involvedObject.resourceVersion=7,involvedObject.fieldPath=spec.template",
                "",
                true,
            ),
            (&full, "reason=Synced,type=Normal", "", true),
            (&full, "type!=Normal", "", false),
            (&full, "source=kubelet", "", true),
            (&full, "source=ks-controller-manager", "", false),
            (&full, "reportingComponent=ks-controller-manager", "", true),
            (
                &full,
                "metadata.name=w1.17f0,reason=Synced",
                "app=web",
                true,
            ),
            (&full, "metadata.namespace=other,reason=Synced", "", false),
            (&full, "reason=Synced", "app=db", false),
            // Missing fields are empty strings.
            (
                &bare,
                "involvedObject.name=,involvedObject.kind=,reason=,source=,type=",
                "",
                true,
            ),
            (&bare, "involvedObject.name!=", "", false),
            (&bare, "source!=", "", false),
            // `source` falls back to the reporting component when empty.
            (&reporting_only, "source=ks-controller-manager", "", true),
            (&reporting_only, "source=", "", false),
            (&nulls, "involvedObject.name=,reason=,source=", "", true),
            (
                &escaped,
                "reason=a\"bé,involvedObject.name=w\\\\1",
                "",
                true,
            ),
            // Non-strings: numbers and booleans as their JSON text, others empty.
            (
                &numbers,
                "reason=5,type=true,involvedObject.name=,involvedObject.kind=",
                "",
                true,
            ),
            (b"not json", "reason=", "", false),
            (b"[1]", "reason=", "", false),
        ];
        for (stored, field, label, want) in cases {
            let sel = selectors(&core_events(), field, label);
            assert_eq!(
                sel.matches_bytes(stored),
                *want,
                "{field} {label} on {}",
                String::from_utf8_lossy(stored)
            );
        }
    }

    #[test]
    fn events_v1_selectors_read_the_stored_core_form() {
        let stored = event(json!({
            "involvedObject": {"kind": "ConfigMap", "name": "cm", "namespace": "default"},
            "reportingComponent": "ks-controller-manager",
            "reason": "Synced", "type": "Normal",
        }));
        for (field, want) in [
            (
                "regarding.kind=ConfigMap,regarding.name=cm,regarding.namespace=default",
                true,
            ),
            ("regarding.name=other", false),
            (
                "reportingController=ks-controller-manager,reason=Synced,type=Normal",
                true,
            ),
            ("source=ks-controller-manager", true),
            ("regarding.uid=,regarding.fieldPath=", true),
        ] {
            assert_eq!(
                selectors(&events_v1(), field, "").matches_bytes(&stored),
                want,
                "{field}"
            );
        }
    }

    #[test]
    fn namespaces_and_secrets_select_on_their_fields() {
        let namespaces = crate::kinds::namespace::Namespaces.selectable_fields();
        let ns = br#"{"metadata":{"name":"a"},"status":{"phase":"Terminating"}}"#;
        assert!(
            selectors(&namespaces, "status.phase=Terminating,metadata.name=a", "")
                .matches_bytes(ns)
        );
        assert!(!selectors(&namespaces, "status.phase=Active", "").matches_bytes(ns));
        let secrets = crate::kinds::secret::Secrets.selectable_fields();
        let secret = br#"{"metadata":{"name":"s","namespace":"d"},"type":"kubernetes.io/tls","data":{"tls.crt":"eA=="}}"#;
        assert!(selectors(&secrets, "type=kubernetes.io/tls", "").matches_bytes(secret));
        assert!(!selectors(&secrets, "type=Opaque", "").matches_bytes(secret));
    }

    #[test]
    fn values_are_borrowed_unless_escaped() {
        let reads = FieldReads::new(crate::kinds::event::SELECTABLE);
        let stored = br#"{"reason":"plain","type":"with\"quote","metadata":{"name":"n"}}"#;
        let values = reads.read(stored, false).unwrap();
        let reason = &reads.fields.iter().find(|(l, _)| *l == "reason").unwrap().1;
        assert!(matches!(
            values.leaves[reason[0]],
            Some(Cow::Borrowed("plain"))
        ));
        assert_eq!(reads.value(&values, "type"), Some("with\"quote"));
        assert_eq!(reads.value(&values, "reason"), Some("plain"));
        assert_eq!(reads.value(&values, "metadata.name"), None);
        // Metadata is decoded only when asked for.
        assert_eq!(values.meta.name, "");
        assert_eq!(reads.read(stored, true).unwrap().meta.name, "n");
    }

    /// The reference: a full decode, then Kubernetes' rules read off it.
    fn reference_value(obj: &Value, field: &SelectableField) -> String {
        field
            .paths
            .iter()
            .map(|path| {
                let pointer = format!("/{}", path.replace('.', "/"));
                match obj.pointer(&pointer) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::Bool(b)) => b.to_string(),
                    _ => String::new(),
                }
            })
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    }

    fn any_text() -> impl proptest::strategy::Strategy<Value = Value> {
        prop_oneof![
            prop::sample::select(vec!["", "a", "b", "a\"b", "é"]).prop_map(|s| json!(s)),
            Just(Value::Null),
            (0i64..3).prop_map(|n| json!(n)),
            Just(json!({"nested": "a"})),
        ]
    }

    fn any_event() -> impl proptest::strategy::Strategy<Value = Value> {
        let reference = prop::collection::btree_map(
            prop::sample::select(vec![
                "kind",
                "name",
                "namespace",
                "uid",
                "apiVersion",
                "fieldPath",
                "other",
            ]),
            any_text(),
            0..5,
        );
        (
            prop::option::of(reference),
            prop::collection::btree_map(
                prop::sample::select(vec!["reason", "type", "reportingComponent", "message"]),
                any_text(),
                0..4,
            ),
            prop::option::of(prop::option::of(any_text())),
        )
            .prop_map(|(involved, top, source)| {
                let mut obj =
                    json!({"apiVersion": "v1", "metadata": {"name": "a", "namespace": "b"}});
                if let Some(involved) = involved {
                    obj["involvedObject"] = json!(involved);
                }
                for (k, v) in top {
                    obj[k] = v;
                }
                match source {
                    Some(Some(component)) => obj["source"] = json!({"component": component}),
                    Some(None) => obj["source"] = Value::Null,
                    None => {}
                }
                obj
            })
    }

    fn any_requirements()
    -> impl proptest::strategy::Strategy<Value = Vec<(usize, bool, &'static str)>> {
        let n = crate::kinds::event::SELECTABLE.len();
        prop::collection::vec(
            (
                0..n,
                any::<bool>(),
                prop::sample::select(vec!["", "a", "b", "1", "true"]),
            ),
            1..4,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The one-pass read agrees with a full decode read by the rules.
        #[test]
        fn prop_event_selectors_agree_with_a_full_decode(obj in any_event(), reqs in any_requirements()) {
            let table = crate::kinds::event::SELECTABLE;
            let selector: Vec<String> = reqs
                .iter()
                .map(|(i, equal, value)| format!("{}{}{value}", table[*i].label, if *equal { "=" } else { "!=" }))
                .collect();
            let sel = selectors(&core_events(), &selector.join(","), "");
            let want = reqs
                .iter()
                .all(|(i, equal, value)| (reference_value(&obj, &table[*i]) == *value) == *equal);
            prop_assert_eq!(sel.matches_bytes(&serde_json::to_vec(&obj).unwrap()), want, "{:?} on {}", selector, obj);
        }
    }
}
