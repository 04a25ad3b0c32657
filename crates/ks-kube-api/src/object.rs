//! Helpers over objects held as JSON: metadata access, timestamps, names,
//! and the label and field selector matching the list and watch paths use.

use std::collections::BTreeMap;

use bytes::Bytes;
use ks_request_info::selector::{FieldSelector, LabelSelector};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::selectable::{FieldReads, Selectable, SelectableFields};

/// The metadata fields the server reads from stored objects without
/// decoding everything else (lists and watches filter on these).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaView {
    /// `metadata`.
    #[serde(default)]
    pub metadata: MetaFields,
}

/// See [`MetaView`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaFields {
    /// `metadata.name`.
    #[serde(default)]
    pub name: String,
    /// `metadata.namespace`.
    #[serde(default)]
    pub namespace: String,
    /// `metadata.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Label and field selectors of a list, watch or deletecollection, checked
/// against what the resource lets a field selector name.
#[derive(Debug, Default)]
pub struct Selectors {
    label: Option<LabelSelector>,
    field: Option<FieldSelector>,
    /// What the field selector reads beyond metadata; `None` when it names
    /// metadata only, and objects are matched on a metadata-only decode.
    reads: Option<FieldReads>,
    /// Whether matching needs the metadata (labels, `metadata.*` terms).
    with_meta: bool,
}

impl Selectors {
    /// Selectors over a resource whose selectable fields are `fields`.
    /// Fails with Kubernetes' message (a 400) when the field selector
    /// names a field the resource does not take.
    pub fn new(
        label: Option<LabelSelector>,
        field: Option<FieldSelector>,
        fields: &SelectableFields,
    ) -> Result<Self, ApiError> {
        let mut extra = Vec::new();
        let mut with_meta = label.as_ref().is_some_and(|l| !l.is_empty());
        for req in field.iter().flat_map(FieldSelector::requirements) {
            match fields.resolve(&req.field).map_err(ApiError::bad_request)? {
                Selectable::Name | Selectable::Namespace => with_meta = true,
                Selectable::Field(f) => extra.push(f),
            }
        }
        let reads = (!extra.is_empty()).then(|| FieldReads::new(extra));
        Ok(Selectors {
            label,
            field,
            reads,
            with_meta,
        })
    }

    /// True when nothing is selected on.
    pub fn is_empty(&self) -> bool {
        self.label.as_ref().is_none_or(|s| s.is_empty())
            && self.field.as_ref().is_none_or(|s| s.is_empty())
    }

    /// Whether a stored object matches. Objects that do not decode never
    /// match. Decodes metadata only unless the field selector names other
    /// fields; then those are read in the same pass.
    pub fn matches_bytes(&self, bytes: &[u8]) -> bool {
        if self.is_empty() {
            return true;
        }
        match &self.reads {
            None => match serde_json::from_slice::<MetaView>(bytes) {
                Ok(view) => self.matches_with(&view.metadata, |_| None),
                Err(_) => false,
            },
            Some(reads) => match reads.read(bytes, self.with_meta) {
                Ok(values) => self.matches_with(&values.meta, |label| reads.value(&values, label)),
                Err(_) => false,
            },
        }
    }

    /// Whether an object with this metadata and these other fields
    /// (`fields`, by selector name) matches.
    fn matches_with<'f>(
        &self,
        meta: &'f MetaFields,
        fields: impl Fn(&str) -> Option<&'f str>,
    ) -> bool {
        if let Some(label) = &self.label
            && !label.matches(&meta.labels)
        {
            return false;
        }
        if let Some(field) = &self.field {
            let ok = field.matches(|key| match key {
                "metadata.name" => Some(meta.name.as_str()),
                "metadata.namespace" => Some(meta.namespace.as_str()),
                other => fields(other),
            });
            if !ok {
                return false;
            }
        }
        true
    }
}

/// `metadata` of an object, created if missing. Fails if `obj` is not an
/// object or `metadata` is not one.
pub fn metadata_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    meta.as_object_mut()
}

/// `metadata` of an object.
pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

/// A string field of `metadata`, empty when absent.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    metadata(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Sets a field of `metadata` (no-op when `obj` is not an object).
pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    if let Some(meta) = metadata_mut(obj) {
        meta.insert(field.to_owned(), value);
    }
}

/// Removes a field of `metadata`.
pub fn remove_meta(obj: &mut Value, field: &str) -> Option<Value> {
    metadata_mut(obj)?.remove(field)
}

/// `metadata.finalizers` as strings.
pub fn finalizers(obj: &Value) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    metadata(obj)
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

/// An owner reference's fields the garbage collector needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    /// `apiVersion` of the owner.
    #[serde(default)]
    pub api_version: String,
    /// `kind` of the owner.
    #[serde(default)]
    pub kind: String,
    /// `name` of the owner.
    #[serde(default)]
    pub name: String,
    /// `uid` of the owner.
    #[serde(default)]
    pub uid: String,
    /// `blockOwnerDeletion`.
    #[serde(default)]
    pub block_owner_deletion: Option<bool>,
    /// `controller`.
    #[serde(default)]
    pub controller: Option<bool>,
}

/// `metadata.ownerReferences`, skipping malformed entries.
pub fn owner_references(obj: &Value) -> Vec<OwnerRef> {
    metadata(obj)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| OwnerRef::deserialize(v).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The current time as Kubernetes writes it (RFC 3339, seconds, UTC).
pub fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    format_time(now)
}

/// Formats a timestamp as Kubernetes' metav1.Time (second precision).
pub fn format_time(ts: jiff::Timestamp) -> String {
    let secs = ts.as_second();
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => ts.to_string(),
    }
}

/// Seconds between an RFC 3339 timestamp and now (None if unparsable).
pub fn age_seconds(timestamp: &str) -> Option<i64> {
    let ts: jiff::Timestamp = timestamp.parse().ok()?;
    Some(jiff::Timestamp::now().as_second() - ts.as_second())
}

/// A short human duration, as `kubectl get` prints ages (Kubernetes'
/// `duration.HumanDuration`).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

const NAME_SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `generateName` plus five random characters, as Kubernetes generates
/// them (the prefix is cut so the result stays within 63 characters).
pub fn generate_name(prefix: &str) -> String {
    let mut prefix = prefix.to_owned();
    if prefix.len() > 58 {
        let mut cut = 58;
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    let bytes = uuid::Uuid::new_v4().into_bytes();
    for b in &bytes[..5] {
        prefix.push(NAME_SUFFIX_ALPHABET[usize::from(*b) % NAME_SUFFIX_ALPHABET.len()] as char);
    }
    prefix
}

/// Whether `needle` occurs in `haystack` (a cheap pre-check before
/// decoding stored JSON).
pub(crate) fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Serializes an object with `metadata.resourceVersion` set to `revision`.
pub fn encode_with_revision(mut obj: Value, revision: i64) -> Result<Bytes, serde_json::Error> {
    set_meta(
        &mut obj,
        "resourceVersion",
        Value::String(revision.to_string()),
    );
    serde_json::to_vec(&obj).map(Bytes::from)
}

/// Parses a stored object.
pub fn decode_stored(bytes: &[u8]) -> Result<Value, crate::error::ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        crate::error::ApiError::internal(format!("stored object does not decode: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_matches_kubernetes() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (47 * 3600, "47h"),
            (2 * 86400, "2d"),
            (2 * 86400 + 3600, "2d1h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400, "3y"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (seconds, want) in cases {
            assert_eq!(human_duration(seconds), want, "{seconds}");
        }
    }

    #[test]
    fn generated_names_keep_prefix_and_length() {
        let n = generate_name("web-");
        assert!(n.starts_with("web-") && n.len() == 9, "{n}");
        assert!(n[4..].bytes().all(|b| NAME_SUFFIX_ALPHABET.contains(&b)));
        let long = "a".repeat(80);
        assert_eq!(generate_name(&long).len(), 63);
    }

    #[test]
    fn selectors_match_labels_and_fields() {
        let sel = Selectors::new(
            Some(LabelSelector::parse("app=web,tier!=db,!legacy").unwrap()),
            Some(FieldSelector::parse("metadata.namespace=default").unwrap()),
            &SelectableFields::Metadata,
        )
        .unwrap();
        let yes = br#"{"metadata":{"name":"a","namespace":"default","labels":{"app":"web"}}}"#;
        let no1 = br#"{"metadata":{"name":"a","namespace":"default","labels":{"app":"web","legacy":"1"}}}"#;
        let no2 = br#"{"metadata":{"name":"a","namespace":"other","labels":{"app":"web"}}}"#;
        assert!(sel.matches_bytes(yes));
        assert!(!sel.matches_bytes(no1));
        assert!(!sel.matches_bytes(no2));
        assert!(!sel.matches_bytes(b"not json"));
    }

    #[test]
    fn timestamps_have_second_precision() {
        let ts: jiff::Timestamp = "2026-11-25T15:20:19.123456Z".parse().unwrap();
        assert_eq!(format_time(ts), "2026-11-25T15:20:19Z");
    }
}
