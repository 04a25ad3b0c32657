//! Decoding of Kubernetes protobuf request bodies
//! (`Content-Type: application/vnd.kubernetes.protobuf`).
//!
//! Recent kubectl (verified: v1.32, v1.33; v1.27 still sends JSON) sends the typed objects built
//! by `kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|clusterrole|
//! clusterrolebinding` as protobuf, with no JSON fallback. The body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` message whose
//! `raw` field holds the typed object. This module turns such a body into the JSON object that
//! Go's `encoding/json` would produce for the same Go value, so the rest of the server only ever
//! sees JSON.
//!
//! The wire-format reader is hand-written: every length is bounds-checked, unknown fields of any
//! wire type are skipped, group nesting and message nesting are bounded, and nothing panics on
//! hostile input. Field numbers follow `k8s.io/api` and `k8s.io/apimachinery` `generated.proto`.
//!
//! JSON rules mirror the Go types' JSON tags: `omitempty` strings, slices, maps and pointers are
//! left out when empty/nil; fields without `omitempty` are always written (a nil slice as `null`,
//! e.g. `Role.rules`); a zero non-pointer `metav1.Time` (such as `metadata.creationTimestamp`) is
//! written as `null`; `[]byte` values are standard base64; `FieldsV1` is embedded as parsed JSON.
//! Repeated occurrences of a singular field follow protobuf rules (scalars: last wins; embedded
//! messages: merged). Strings must be valid UTF-8 (Go would silently replace invalid bytes; a 400
//! is more useful here).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::kinds::Strategy;

/// Finds the strategy of an apiVersion and kind.
pub(crate) type KindLookup<'a> = dyn Fn(&str, &str) -> Option<std::sync::Arc<dyn Strategy>> + 'a;

/// The media type of Kubernetes protobuf bodies.
const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Prefix of every Kubernetes protobuf-encoded object.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Maximum nesting of embedded messages (and of skipped groups). The supported schemas nest at
/// most six levels, so this only rejects hostile input.
const MAX_DEPTH: u32 = 32;

/// Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which `metav1.Time` writes as
/// JSON `null`.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;
/// 0000-01-01T00:00:00Z: the earliest instant with a four-digit RFC 3339 year.
const MIN_RFC3339_UNIX: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z: the latest instant with a four-digit RFC 3339 year.
const MAX_RFC3339_UNIX: i64 = 253_402_300_799;

/// Whether a Content-Type names Kubernetes protobuf (`application/vnd.kubernetes.protobuf`,
/// parameters ignored).
pub(crate) fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE))
}

/// Decodes a Kubernetes protobuf request body (the 4-byte magic `k8s\0` followed by a
/// runtime.Unknown message: typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3,
/// contentType=4) into the JSON object the same object would be in JSON (apiVersion and kind set
/// from typeMeta). Errors are messages suitable for a 400 BadRequest. Unsupported kinds give an
/// error naming the apiVersion/kind. `kinds` finds the strategy of an apiVersion and kind.
pub(crate) fn decode_object(body: &[u8], kinds: &KindLookup<'_>) -> Result<Value, String> {
    let envelope = body.strip_prefix(MAGIC.as_slice()).ok_or_else(|| {
        "protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"".to_owned()
    })?;

    let mut type_meta: Vec<&[u8]> = Vec::new();
    let mut raw: &[u8] = &[];
    let mut content_encoding = String::new();
    let mut content_type = String::new();
    for_each_field(&[envelope], 0, |number, wire| {
        match number {
            1 => type_meta.push(bytes(wire, "Unknown.typeMeta")?),
            2 => raw = bytes(wire, "Unknown.raw")?,
            3 => content_encoding = string(wire, "Unknown.contentEncoding")?,
            4 => content_type = string(wire, "Unknown.contentType")?,
            _ => {}
        }
        Ok(())
    })
    .map_err(invalid)?;

    let mut api_version = String::new();
    let mut kind = String::new();
    for_each_field(&type_meta, 1, |number, wire| {
        match number {
            1 => api_version = string(wire, "TypeMeta.apiVersion")?,
            2 => kind = string(wire, "TypeMeta.kind")?,
            _ => {}
        }
        Ok(())
    })
    .map_err(invalid)?;

    if kind.is_empty() {
        return Err("Object 'Kind' is missing in protobuf body".to_owned());
    }
    if !content_encoding.is_empty() {
        return Err(format!(
            "unsupported contentEncoding {content_encoding:?} in protobuf body"
        ));
    }
    if !content_type.is_empty() && !is_protobuf(&content_type) {
        return Err(format!(
            "unsupported contentType {content_type:?} in protobuf body"
        ));
    }

    let decoded = kinds(&api_version, &kind).and_then(|strategy| strategy.decode_protobuf(raw));
    let Some(decoded) = decoded else {
        return Err(format!(
            "protobuf request bodies are not supported for apiVersion {api_version:?}, \
             kind {kind:?}; send the object as application/json"
        ));
    };
    let fields = decoded.map_err(|e| format!("invalid protobuf {api_version}/{kind}: {e}"))?;

    let mut object = Map::new();
    object.insert("kind".to_owned(), Value::String(kind));
    object.insert("apiVersion".to_owned(), Value::String(api_version));
    object.extend(fields);
    Ok(Value::Object(object))
}

fn invalid(e: String) -> String {
    format!("invalid protobuf body: {e}")
}

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

/// One field value as read off the wire. Groups are skipped by the reader and never surface.
#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32,
}

impl Wire<'_> {
    fn describe(self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Fixed64 => "fixed64",
            Wire::Bytes(_) => "length-delimited",
            Wire::Fixed32 => "fixed32",
        }
    }
}

/// A cursor over one serialized message.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Nesting depth of the message being read (bounds group skipping as well).
    depth: u32,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], depth: u32) -> Self {
        Reader { buf, pos: 0, depth }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for index in 0..10u32 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err("truncated varint".to_owned());
            };
            self.pos += 1;
            if index == 9 && byte > 1 {
                return Err("varint overflows 64 bits".to_owned());
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint overflows 64 bits".to_owned())
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], String> {
        let remaining = self.buf.len().saturating_sub(self.pos);
        let end = usize::try_from(len)
            .ok()
            .filter(|&len| len <= remaining)
            .map(|len| self.pos + len)
            .ok_or_else(|| {
                format!(
                    "field length {len} runs past the end of the message ({remaining} bytes left)"
                )
            })?;
        let slice = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| "field runs past the end of the message".to_owned())?;
        self.pos = end;
        Ok(slice)
    }

    fn key(&mut self) -> Result<(u32, u8), String> {
        let key = self.varint()?;
        let wire_type = (key & 7) as u8;
        let number = key >> 3;
        if number == 0 || number > 0x1fff_ffff {
            return Err(format!(
                "illegal field number {number} (wire type {wire_type})"
            ));
        }
        Ok((number as u32, wire_type))
    }

    /// The next field, or `None` at the end of the message. Groups are skipped.
    fn field(&mut self) -> Result<Option<(u32, Wire<'a>)>, String> {
        loop {
            if self.at_end() {
                return Ok(None);
            }
            let (number, wire_type) = self.key()?;
            let wire = match wire_type {
                0 => Wire::Varint(self.varint()?),
                1 => {
                    self.take(8)?;
                    Wire::Fixed64
                }
                2 => {
                    let len = self.varint()?;
                    Wire::Bytes(self.take(len)?)
                }
                3 => {
                    self.skip_group(number)?;
                    continue;
                }
                4 => return Err(format!("unexpected end-group marker for field {number}")),
                5 => {
                    self.take(4)?;
                    Wire::Fixed32
                }
                _ => return Err(format!("invalid wire type {wire_type} for field {number}")),
            };
            return Ok(Some((number, wire)));
        }
    }

    /// Skips a (deprecated) group whose start marker for field `number` was just read.
    fn skip_group(&mut self, number: u32) -> Result<(), String> {
        let mut open = vec![number];
        while let Some(&innermost) = open.last() {
            if self.depth.saturating_add(open.len() as u32) > MAX_DEPTH {
                return Err(format!("protobuf nesting deeper than {MAX_DEPTH} levels"));
            }
            if self.at_end() {
                return Err(format!("truncated group for field {innermost}"));
            }
            let (number, wire_type) = self.key()?;
            match wire_type {
                0 => {
                    self.varint()?;
                }
                1 => {
                    self.take(8)?;
                }
                2 => {
                    let len = self.varint()?;
                    self.take(len)?;
                }
                3 => open.push(number),
                4 if number == innermost => {
                    open.pop();
                }
                4 => {
                    return Err(format!(
                        "end-group marker for field {number} inside group {innermost}"
                    ));
                }
                5 => {
                    self.take(4)?;
                }
                _ => return Err(format!("invalid wire type {wire_type} for field {number}")),
            }
        }
        Ok(())
    }
}

/// Calls `visit` for every field of a message given as the concatenation of `parts` (protobuf
/// merges repeated occurrences of an embedded message, which equals decoding their concatenation).
fn for_each_field<'a>(
    parts: &[&'a [u8]],
    depth: u32,
    mut visit: impl FnMut(u32, Wire<'a>) -> Result<(), String>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("protobuf nesting deeper than {MAX_DEPTH} levels"));
    }
    for part in parts {
        let mut reader = Reader::new(part, depth);
        while let Some((number, wire)) = reader.field()? {
            visit(number, wire)?;
        }
    }
    Ok(())
}

fn wrong_type(wire: Wire<'_>, field: &str, expected: &str) -> String {
    format!(
        "field {field} has wire type {}, expected {expected}",
        wire.describe()
    )
}

fn bytes<'a>(wire: Wire<'a>, field: &str) -> Result<&'a [u8], String> {
    match wire {
        Wire::Bytes(data) => Ok(data),
        other => Err(wrong_type(other, field, "length-delimited")),
    }
}

fn string(wire: Wire<'_>, field: &str) -> Result<String, String> {
    let data = bytes(wire, field)?;
    std::str::from_utf8(data)
        .map(str::to_owned)
        .map_err(|_| format!("field {field} is not valid UTF-8"))
}

fn varint(wire: Wire<'_>, field: &str) -> Result<u64, String> {
    match wire {
        Wire::Varint(value) => Ok(value),
        other => Err(wrong_type(other, field, "varint")),
    }
}

fn int64(wire: Wire<'_>, field: &str) -> Result<i64, String> {
    // Two's complement reinterpretation, as Go's generated code does for int64 fields.
    varint(wire, field).map(|value| value as i64)
}

fn boolean(wire: Wire<'_>, field: &str) -> Result<bool, String> {
    varint(wire, field).map(|value| value != 0)
}

/// Reads one map entry (key=1, value=2); missing key or value default to empty.
fn map_entry<'a>(wire: Wire<'a>, depth: u32, field: &str) -> Result<(String, &'a [u8]), String> {
    let entry = bytes(wire, field)?;
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for_each_field(&[entry], depth, |number, wire| {
        match number {
            1 => key = string(wire, field)?,
            2 => value = bytes(wire, field)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok((key, value))
}

fn string_map_entry(
    wire: Wire<'_>,
    depth: u32,
    field: &str,
    into: &mut Map<String, Value>,
) -> Result<(), String> {
    let (key, value) = map_entry(wire, depth, field)?;
    let value =
        std::str::from_utf8(value).map_err(|_| format!("field {field} is not valid UTF-8"))?;
    into.insert(key, Value::String(value.to_owned()));
    Ok(())
}

fn bytes_map_entry(
    wire: Wire<'_>,
    depth: u32,
    field: &str,
    into: &mut Map<String, Value>,
) -> Result<(), String> {
    let (key, value) = map_entry(wire, depth, field)?;
    into.insert(key, Value::String(BASE64.encode(value)));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JSON helpers (Go encoding/json semantics)
// ---------------------------------------------------------------------------------------------

/// A field without `omitempty`: always written.
fn put(object: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    object.insert(key.to_owned(), value.into());
}

/// A `string` field with `omitempty`.
fn put_string(object: &mut Map<String, Value>, key: &str, value: String) {
    if !value.is_empty() {
        object.insert(key.to_owned(), Value::String(value));
    }
}

/// A slice or map field with `omitempty`.
fn put_nonempty(object: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    let value = value.into();
    let empty = match &value {
        Value::Array(items) => items.is_empty(),
        Value::Object(entries) => entries.is_empty(),
        _ => false,
    };
    if !empty {
        object.insert(key.to_owned(), value);
    }
}

/// A slice field without `omitempty`: a nil (empty) slice is `null`.
fn put_slice(object: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    let value = if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    };
    object.insert(key.to_owned(), value);
}

/// A pointer field with `omitempty`.
fn put_some<T: Into<Value>>(object: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value.into());
    }
}

fn strings(values: Vec<String>) -> Vec<Value> {
    values.into_iter().map(Value::String).collect()
}

// ---------------------------------------------------------------------------------------------
// meta/v1
// ---------------------------------------------------------------------------------------------

/// `metav1.Time` as JSON from its last serialized occurrence. An absent or empty message is Go's
/// zero time (`null`); otherwise the value is `seconds` (Go's protobuf decoding drops `nanos`).
fn time(serialized: Option<&[u8]>, depth: u32, field: &str) -> Result<Value, String> {
    let Some(data) = serialized.filter(|data| !data.is_empty()) else {
        return Ok(Value::Null);
    };
    let mut seconds = 0i64;
    for_each_field(&[data], depth, |number, wire| {
        match number {
            1 => seconds = int64(wire, field)?,
            2 => {
                varint(wire, field)?;
            }
            _ => {}
        }
        Ok(())
    })?;
    if seconds == GO_ZERO_TIME_UNIX {
        return Ok(Value::Null);
    }
    rfc3339(seconds)
        .map(Value::String)
        .ok_or_else(|| format!("field {field}: timestamp {seconds} is outside years 0000-9999"))
}

/// Formats Unix seconds as `2006-01-02T15:04:05Z` (UTC), for years 0000-9999.
fn rfc3339(seconds: i64) -> Option<String> {
    if !(MIN_RFC3339_UNIX..=MAX_RFC3339_UNIX).contains(&seconds) {
        return None;
    }
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3_600,
        second_of_day / 60 % 60,
        second_of_day % 60
    ))
}

fn object_meta(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut name = String::new();
    let mut generate_name = String::new();
    let mut namespace = String::new();
    let mut self_link = String::new();
    let mut uid = String::new();
    let mut resource_version = String::new();
    let mut generation = 0i64;
    let mut creation_timestamp: Option<&[u8]> = None;
    let mut deletion_timestamp: Option<&[u8]> = None;
    let mut deletion_grace_period_seconds: Option<i64> = None;
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut owner_references = Vec::new();
    let mut finalizers = Vec::new();
    let mut managed_fields = Vec::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => name = string(wire, "ObjectMeta.name")?,
            2 => generate_name = string(wire, "ObjectMeta.generateName")?,
            3 => namespace = string(wire, "ObjectMeta.namespace")?,
            4 => self_link = string(wire, "ObjectMeta.selfLink")?,
            5 => uid = string(wire, "ObjectMeta.uid")?,
            6 => resource_version = string(wire, "ObjectMeta.resourceVersion")?,
            7 => generation = int64(wire, "ObjectMeta.generation")?,
            8 => creation_timestamp = Some(bytes(wire, "ObjectMeta.creationTimestamp")?),
            9 => deletion_timestamp = Some(bytes(wire, "ObjectMeta.deletionTimestamp")?),
            10 => {
                deletion_grace_period_seconds =
                    Some(int64(wire, "ObjectMeta.deletionGracePeriodSeconds")?);
            }
            11 => string_map_entry(wire, depth + 1, "ObjectMeta.labels", &mut labels)?,
            12 => string_map_entry(wire, depth + 1, "ObjectMeta.annotations", &mut annotations)?,
            13 => owner_references.push(owner_reference(
                &[bytes(wire, "ObjectMeta.ownerReferences")?],
                depth + 1,
            )?),
            14 => finalizers.push(string(wire, "ObjectMeta.finalizers")?),
            17 => managed_fields.push(managed_fields_entry(
                &[bytes(wire, "ObjectMeta.managedFields")?],
                depth + 1,
            )?),
            _ => {}
        }
        Ok(())
    })?;

    let mut meta = Map::new();
    put_string(&mut meta, "name", name);
    put_string(&mut meta, "generateName", generate_name);
    put_string(&mut meta, "namespace", namespace);
    put_string(&mut meta, "selfLink", self_link);
    put_string(&mut meta, "uid", uid);
    put_string(&mut meta, "resourceVersion", resource_version);
    if generation != 0 {
        put(&mut meta, "generation", generation);
    }
    // A non-pointer metav1.Time: `omitempty` has no effect, a zero time is written as null.
    put(
        &mut meta,
        "creationTimestamp",
        time(
            creation_timestamp,
            depth + 1,
            "ObjectMeta.creationTimestamp",
        )?,
    );
    if deletion_timestamp.is_some() {
        put(
            &mut meta,
            "deletionTimestamp",
            time(
                deletion_timestamp,
                depth + 1,
                "ObjectMeta.deletionTimestamp",
            )?,
        );
    }
    put_some(
        &mut meta,
        "deletionGracePeriodSeconds",
        deletion_grace_period_seconds,
    );
    put_nonempty(&mut meta, "labels", labels);
    put_nonempty(&mut meta, "annotations", annotations);
    put_nonempty(&mut meta, "ownerReferences", owner_references);
    put_nonempty(&mut meta, "finalizers", strings(finalizers));
    put_nonempty(&mut meta, "managedFields", managed_fields);
    Ok(Value::Object(meta))
}

fn owner_reference(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut name = String::new();
    let mut uid = String::new();
    let mut controller = None;
    let mut block_owner_deletion = None;
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => kind = string(wire, "OwnerReference.kind")?,
            3 => name = string(wire, "OwnerReference.name")?,
            4 => uid = string(wire, "OwnerReference.uid")?,
            5 => api_version = string(wire, "OwnerReference.apiVersion")?,
            6 => controller = Some(boolean(wire, "OwnerReference.controller")?),
            7 => {
                block_owner_deletion = Some(boolean(wire, "OwnerReference.blockOwnerDeletion")?);
            }
            _ => {}
        }
        Ok(())
    })?;
    let mut reference = Map::new();
    put(&mut reference, "apiVersion", api_version);
    put(&mut reference, "kind", kind);
    put(&mut reference, "name", name);
    put(&mut reference, "uid", uid);
    put_some(&mut reference, "controller", controller);
    put_some(&mut reference, "blockOwnerDeletion", block_owner_deletion);
    Ok(Value::Object(reference))
}

fn managed_fields_entry(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut manager = String::new();
    let mut operation = String::new();
    let mut api_version = String::new();
    let mut time_field: Option<&[u8]> = None;
    let mut fields_type = String::new();
    let mut fields_v1: Vec<&[u8]> = Vec::new();
    let mut subresource = String::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => manager = string(wire, "ManagedFieldsEntry.manager")?,
            2 => operation = string(wire, "ManagedFieldsEntry.operation")?,
            3 => api_version = string(wire, "ManagedFieldsEntry.apiVersion")?,
            4 => time_field = Some(bytes(wire, "ManagedFieldsEntry.time")?),
            6 => fields_type = string(wire, "ManagedFieldsEntry.fieldsType")?,
            7 => fields_v1.push(bytes(wire, "ManagedFieldsEntry.fieldsV1")?),
            8 => subresource = string(wire, "ManagedFieldsEntry.subresource")?,
            _ => {}
        }
        Ok(())
    })?;
    let mut entry = Map::new();
    put_string(&mut entry, "manager", manager);
    put_string(&mut entry, "operation", operation);
    put_string(&mut entry, "apiVersion", api_version);
    if time_field.is_some() {
        put(
            &mut entry,
            "time",
            time(time_field, depth + 1, "ManagedFieldsEntry.time")?,
        );
    }
    put_string(&mut entry, "fieldsType", fields_type);
    if !fields_v1.is_empty() {
        put(
            &mut entry,
            "fieldsV1",
            fields_v1_json(&fields_v1, depth + 1)?,
        );
    }
    put_string(&mut entry, "subresource", subresource);
    Ok(Value::Object(entry))
}

/// `FieldsV1 {Raw=1}`: the raw bytes are JSON and are embedded as such; no raw is `null`.
fn fields_v1_json(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut raw: Option<&[u8]> = None;
    for_each_field(parts, depth, |number, wire| {
        if number == 1 {
            raw = Some(bytes(wire, "FieldsV1.Raw")?);
        }
        Ok(())
    })?;
    match raw {
        None => Ok(Value::Null),
        Some(raw) => serde_json::from_slice(raw)
            .map_err(|e| format!("field ManagedFieldsEntry.fieldsV1 is not valid JSON: {e}")),
    }
}

fn label_selector(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut match_labels = Map::new();
    let mut match_expressions = Vec::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => string_map_entry(
                wire,
                depth + 1,
                "LabelSelector.matchLabels",
                &mut match_labels,
            )?,
            2 => match_expressions.push(label_selector_requirement(
                &[bytes(wire, "LabelSelector.matchExpressions")?],
                depth + 1,
            )?),
            _ => {}
        }
        Ok(())
    })?;
    let mut selector = Map::new();
    put_nonempty(&mut selector, "matchLabels", match_labels);
    put_nonempty(&mut selector, "matchExpressions", match_expressions);
    Ok(Value::Object(selector))
}

fn label_selector_requirement(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut key = String::new();
    let mut operator = String::new();
    let mut values = Vec::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => key = string(wire, "LabelSelectorRequirement.key")?,
            2 => operator = string(wire, "LabelSelectorRequirement.operator")?,
            3 => values.push(string(wire, "LabelSelectorRequirement.values")?),
            _ => {}
        }
        Ok(())
    })?;
    let mut requirement = Map::new();
    put(&mut requirement, "key", key);
    put(&mut requirement, "operator", operator);
    put_nonempty(&mut requirement, "values", strings(values));
    Ok(Value::Object(requirement))
}

// ---------------------------------------------------------------------------------------------
// core/v1
// ---------------------------------------------------------------------------------------------

pub(crate) fn namespace(parts: &[&[u8]], depth: u32) -> Result<Map<String, Value>, String> {
    let mut metadata = Vec::new();
    let mut spec = Vec::new();
    let mut status = Vec::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => metadata.push(bytes(wire, "Namespace.metadata")?),
            2 => spec.push(bytes(wire, "Namespace.spec")?),
            3 => status.push(bytes(wire, "Namespace.status")?),
            _ => {}
        }
        Ok(())
    })?;

    let mut finalizers = Vec::new();
    for_each_field(&spec, depth + 1, |number, wire| {
        if number == 1 {
            finalizers.push(string(wire, "NamespaceSpec.finalizers")?);
        }
        Ok(())
    })?;
    let mut spec_json = Map::new();
    put_nonempty(&mut spec_json, "finalizers", strings(finalizers));

    let mut phase = String::new();
    let mut conditions = Vec::new();
    for_each_field(&status, depth + 1, |number, wire| {
        match number {
            1 => phase = string(wire, "NamespaceStatus.phase")?,
            2 => conditions.push(namespace_condition(
                &[bytes(wire, "NamespaceStatus.conditions")?],
                depth + 2,
            )?),
            _ => {}
        }
        Ok(())
    })?;
    let mut status_json = Map::new();
    put_string(&mut status_json, "phase", phase);
    put_nonempty(&mut status_json, "conditions", conditions);

    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(&metadata, depth + 1)?);
    // Non-pointer structs: `omitempty` has no effect, so empty ones are still written as {}.
    put(&mut object, "spec", spec_json);
    put(&mut object, "status", status_json);
    Ok(object)
}

fn namespace_condition(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut condition_type = String::new();
    let mut status = String::new();
    let mut last_transition_time: Option<&[u8]> = None;
    let mut reason = String::new();
    let mut message = String::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => condition_type = string(wire, "NamespaceCondition.type")?,
            2 => status = string(wire, "NamespaceCondition.status")?,
            4 => {
                last_transition_time = Some(bytes(wire, "NamespaceCondition.lastTransitionTime")?);
            }
            5 => reason = string(wire, "NamespaceCondition.reason")?,
            6 => message = string(wire, "NamespaceCondition.message")?,
            _ => {}
        }
        Ok(())
    })?;
    let mut condition = Map::new();
    put(&mut condition, "type", condition_type);
    put(&mut condition, "status", status);
    put(
        &mut condition,
        "lastTransitionTime",
        time(
            last_transition_time,
            depth + 1,
            "NamespaceCondition.lastTransitionTime",
        )?,
    );
    put_string(&mut condition, "reason", reason);
    put_string(&mut condition, "message", message);
    Ok(Value::Object(condition))
}

pub(crate) fn config_map(parts: &[&[u8]], depth: u32) -> Result<Map<String, Value>, String> {
    let mut metadata = Vec::new();
    let mut data = Map::new();
    let mut binary_data = Map::new();
    let mut immutable = None;
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => metadata.push(bytes(wire, "ConfigMap.metadata")?),
            2 => string_map_entry(wire, depth + 1, "ConfigMap.data", &mut data)?,
            3 => bytes_map_entry(wire, depth + 1, "ConfigMap.binaryData", &mut binary_data)?,
            4 => immutable = Some(boolean(wire, "ConfigMap.immutable")?),
            _ => {}
        }
        Ok(())
    })?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(&metadata, depth + 1)?);
    put_some(&mut object, "immutable", immutable);
    put_nonempty(&mut object, "data", data);
    put_nonempty(&mut object, "binaryData", binary_data);
    Ok(object)
}

pub(crate) fn secret(parts: &[&[u8]], depth: u32) -> Result<Map<String, Value>, String> {
    let mut metadata = Vec::new();
    let mut data = Map::new();
    let mut secret_type = String::new();
    let mut string_data = Map::new();
    let mut immutable = None;
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => metadata.push(bytes(wire, "Secret.metadata")?),
            2 => bytes_map_entry(wire, depth + 1, "Secret.data", &mut data)?,
            3 => secret_type = string(wire, "Secret.type")?,
            4 => string_map_entry(wire, depth + 1, "Secret.stringData", &mut string_data)?,
            5 => immutable = Some(boolean(wire, "Secret.immutable")?),
            _ => {}
        }
        Ok(())
    })?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(&metadata, depth + 1)?);
    put_some(&mut object, "immutable", immutable);
    put_nonempty(&mut object, "data", data);
    put_nonempty(&mut object, "stringData", string_data);
    put_string(&mut object, "type", secret_type);
    Ok(object)
}

pub(crate) fn service_account(parts: &[&[u8]], depth: u32) -> Result<Map<String, Value>, String> {
    let mut metadata = Vec::new();
    let mut secrets = Vec::new();
    let mut image_pull_secrets = Vec::new();
    let mut automount = None;
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => metadata.push(bytes(wire, "ServiceAccount.metadata")?),
            2 => secrets.push(object_reference(
                &[bytes(wire, "ServiceAccount.secrets")?],
                depth + 1,
            )?),
            3 => image_pull_secrets.push(local_object_reference(
                &[bytes(wire, "ServiceAccount.imagePullSecrets")?],
                depth + 1,
            )?),
            4 => {
                automount = Some(boolean(
                    wire,
                    "ServiceAccount.automountServiceAccountToken",
                )?);
            }
            _ => {}
        }
        Ok(())
    })?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(&metadata, depth + 1)?);
    put_nonempty(&mut object, "secrets", secrets);
    put_nonempty(&mut object, "imagePullSecrets", image_pull_secrets);
    put_some(&mut object, "automountServiceAccountToken", automount);
    Ok(object)
}

fn object_reference(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    // (JSON key, field name) by field number - 1; all are `omitempty` strings.
    const FIELDS: [(&str, &str); 7] = [
        ("kind", "ObjectReference.kind"),
        ("namespace", "ObjectReference.namespace"),
        ("name", "ObjectReference.name"),
        ("uid", "ObjectReference.uid"),
        ("apiVersion", "ObjectReference.apiVersion"),
        ("resourceVersion", "ObjectReference.resourceVersion"),
        ("fieldPath", "ObjectReference.fieldPath"),
    ];
    let mut values: [String; 7] = Default::default();
    for_each_field(parts, depth, |number, wire| {
        let index = (number as usize).wrapping_sub(1);
        if let (Some(slot), Some((_, field))) = (values.get_mut(index), FIELDS.get(index)) {
            *slot = string(wire, field)?;
        }
        Ok(())
    })?;
    let mut reference = Map::new();
    for ((key, _), value) in FIELDS.into_iter().zip(values) {
        put_string(&mut reference, key, value);
    }
    Ok(Value::Object(reference))
}

fn local_object_reference(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut name = String::new();
    for_each_field(parts, depth, |number, wire| {
        if number == 1 {
            name = string(wire, "LocalObjectReference.name")?;
        }
        Ok(())
    })?;
    let mut reference = Map::new();
    put_string(&mut reference, "name", name);
    Ok(Value::Object(reference))
}

// ---------------------------------------------------------------------------------------------
// rbac.authorization.k8s.io/v1
// ---------------------------------------------------------------------------------------------

/// `Role` (metadata=1, rules=2) and `ClusterRole` (additionally aggregationRule=3).
pub(crate) fn role(
    parts: &[&[u8]],
    depth: u32,
    cluster: bool,
) -> Result<Map<String, Value>, String> {
    let mut metadata = Vec::new();
    let mut rules = Vec::new();
    let mut aggregation_rule = Vec::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => metadata.push(bytes(wire, "Role.metadata")?),
            2 => rules.push(policy_rule(&[bytes(wire, "Role.rules")?], depth + 1)?),
            3 if cluster => aggregation_rule.push(bytes(wire, "ClusterRole.aggregationRule")?),
            _ => {}
        }
        Ok(())
    })?;
    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(&metadata, depth + 1)?);
    put_slice(&mut object, "rules", rules);
    if !aggregation_rule.is_empty() {
        let mut selectors = Vec::new();
        for_each_field(&aggregation_rule, depth + 1, |number, wire| {
            if number == 1 {
                selectors.push(label_selector(
                    &[bytes(wire, "AggregationRule.clusterRoleSelectors")?],
                    depth + 2,
                )?);
            }
            Ok(())
        })?;
        let mut rule = Map::new();
        put_nonempty(&mut rule, "clusterRoleSelectors", selectors);
        put(&mut object, "aggregationRule", rule);
    }
    Ok(object)
}

fn policy_rule(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut verbs = Vec::new();
    let mut api_groups = Vec::new();
    let mut resources = Vec::new();
    let mut resource_names = Vec::new();
    let mut non_resource_urls = Vec::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => verbs.push(string(wire, "PolicyRule.verbs")?),
            2 => api_groups.push(string(wire, "PolicyRule.apiGroups")?),
            3 => resources.push(string(wire, "PolicyRule.resources")?),
            4 => resource_names.push(string(wire, "PolicyRule.resourceNames")?),
            5 => non_resource_urls.push(string(wire, "PolicyRule.nonResourceURLs")?),
            _ => {}
        }
        Ok(())
    })?;
    let mut rule = Map::new();
    put_slice(&mut rule, "verbs", strings(verbs));
    put_nonempty(&mut rule, "apiGroups", strings(api_groups));
    put_nonempty(&mut rule, "resources", strings(resources));
    put_nonempty(&mut rule, "resourceNames", strings(resource_names));
    put_nonempty(&mut rule, "nonResourceURLs", strings(non_resource_urls));
    Ok(Value::Object(rule))
}

/// `RoleBinding` and `ClusterRoleBinding` (metadata=1, subjects=2, roleRef=3).
pub(crate) fn role_binding(parts: &[&[u8]], depth: u32) -> Result<Map<String, Value>, String> {
    let mut metadata = Vec::new();
    let mut subjects = Vec::new();
    let mut role_ref = Vec::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => metadata.push(bytes(wire, "RoleBinding.metadata")?),
            2 => subjects.push(subject(&[bytes(wire, "RoleBinding.subjects")?], depth + 1)?),
            3 => role_ref.push(bytes(wire, "RoleBinding.roleRef")?),
            _ => {}
        }
        Ok(())
    })?;

    let mut api_group = String::new();
    let mut kind = String::new();
    let mut name = String::new();
    for_each_field(&role_ref, depth + 1, |number, wire| {
        match number {
            1 => api_group = string(wire, "RoleRef.apiGroup")?,
            2 => kind = string(wire, "RoleRef.kind")?,
            3 => name = string(wire, "RoleRef.name")?,
            _ => {}
        }
        Ok(())
    })?;
    let mut role_ref_json = Map::new();
    put(&mut role_ref_json, "apiGroup", api_group);
    put(&mut role_ref_json, "kind", kind);
    put(&mut role_ref_json, "name", name);

    let mut object = Map::new();
    put(&mut object, "metadata", object_meta(&metadata, depth + 1)?);
    put_nonempty(&mut object, "subjects", subjects);
    put(&mut object, "roleRef", role_ref_json);
    Ok(object)
}

fn subject(parts: &[&[u8]], depth: u32) -> Result<Value, String> {
    let mut kind = String::new();
    let mut api_group = String::new();
    let mut name = String::new();
    let mut namespace = String::new();
    for_each_field(parts, depth, |number, wire| {
        match number {
            1 => kind = string(wire, "Subject.kind")?,
            2 => api_group = string(wire, "Subject.apiGroup")?,
            3 => name = string(wire, "Subject.name")?,
            4 => namespace = string(wire, "Subject.namespace")?,
            _ => {}
        }
        Ok(())
    })?;
    let mut subject = Map::new();
    put(&mut subject, "kind", kind);
    put_string(&mut subject, "apiGroup", api_group);
    put(&mut subject, "name", name);
    put_string(&mut subject, "namespace", namespace);
    Ok(Value::Object(subject))
}

#[cfg(test)]
mod tests {
    /// Decodes with the built-in kinds.
    fn decode_object(body: &[u8]) -> Result<Value, String> {
        let kinds = crate::kinds::builtins();
        super::decode_object(body, &|api_version: &str, kind: &str| {
            kinds
                .iter()
                .find(|s| {
                    let n = s.names();
                    let av = if n.group.is_empty() {
                        n.version.clone()
                    } else {
                        format!("{}/{}", n.group, n.version)
                    };
                    av == api_version && n.kind == kind
                })
                .cloned()
        })
    }

    use super::*;
    use serde_json::json;

    /// A tiny protobuf encoder for building test inputs.
    #[derive(Clone, Default)]
    struct Pb(Vec<u8>);

    impl Pb {
        fn new() -> Self {
            Pb::default()
        }

        fn raw_varint(mut self, mut value: u64) -> Self {
            loop {
                let byte = (value & 0x7f) as u8;
                value >>= 7;
                if value == 0 {
                    self.0.push(byte);
                    return self;
                }
                self.0.push(byte | 0x80);
            }
        }

        fn key(self, field: u32, wire_type: u8) -> Self {
            self.raw_varint(u64::from(field) << 3 | u64::from(wire_type))
        }

        fn varint(self, field: u32, value: u64) -> Self {
            self.key(field, 0).raw_varint(value)
        }

        fn bytes(self, field: u32, data: &[u8]) -> Self {
            let mut pb = self.key(field, 2).raw_varint(data.len() as u64);
            pb.0.extend_from_slice(data);
            pb
        }

        fn str(self, field: u32, value: &str) -> Self {
            self.bytes(field, value.as_bytes())
        }

        fn msg(self, field: u32, message: Pb) -> Self {
            self.bytes(field, &message.0)
        }

        fn entry(self, field: u32, key: &str, value: &[u8]) -> Self {
            self.msg(field, Pb::new().str(1, key).bytes(2, value))
        }

        fn fixed32(self, field: u32) -> Self {
            let mut pb = self.key(field, 5);
            pb.0.extend_from_slice(&[1, 2, 3, 4]);
            pb
        }

        fn fixed64(self, field: u32) -> Self {
            let mut pb = self.key(field, 1);
            pb.0.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
            pb
        }

        fn group(self, field: u32, inner: Pb) -> Self {
            let mut pb = self.key(field, 3);
            pb.0.extend_from_slice(&inner.0);
            pb.key(field, 4)
        }

        /// Unknown fields of every wire type (numbers unused by any supported message).
        fn junk(self) -> Self {
            self.varint(1001, u64::MAX)
                .fixed64(1002)
                .str(1003, "ignored")
                .fixed32(1004)
                .group(1005, Pb::new().varint(1, 7).str(2, "x").group(3, Pb::new()))
        }
    }

    fn time(seconds: i64) -> Pb {
        Pb::new().varint(1, seconds as u64).varint(2, 999)
    }

    fn envelope(api_version: &str, kind: &str, raw: &Pb) -> Vec<u8> {
        let unknown = Pb::new()
            .msg(1, Pb::new().str(1, api_version).str(2, kind))
            .bytes(2, &raw.0)
            .str(3, "")
            .str(4, "");
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&unknown.0);
        body
    }

    fn decode(api_version: &str, kind: &str, raw: &Pb) -> Value {
        decode_object(&envelope(api_version, kind, raw)).unwrap()
    }

    fn decode_err(api_version: &str, kind: &str, raw: &Pb) -> String {
        decode_object(&envelope(api_version, kind, raw)).unwrap_err()
    }

    fn meta(name: &str) -> Pb {
        Pb::new().str(1, name).bytes(8, &[])
    }

    #[test]
    fn content_type_detection() {
        assert!(is_protobuf("application/vnd.kubernetes.protobuf"));
        assert!(is_protobuf(
            "Application/VND.Kubernetes.Protobuf ; charset=utf-8"
        ));
        assert!(is_protobuf(
            " application/vnd.kubernetes.protobuf;stream=watch"
        ));
        assert!(!is_protobuf("application/json"));
        assert!(!is_protobuf("application/vnd.kubernetes.protobuf+json"));
        assert!(!is_protobuf(""));
    }

    #[test]
    fn config_map_with_full_object_meta() {
        let fields_v1 = br#"{"f:data":{"f:a":{}},"f:metadata":{"f:labels":{".":{}}}}"#;
        let metadata = Pb::new()
            .str(1, "cm")
            .str(2, "cm-")
            .str(3, "default")
            .str(4, "/api/v1/namespaces/default/configmaps/cm")
            .str(5, "3f1b4d2c-0000-4000-8000-000000000001")
            .str(6, "42")
            .varint(7, 3)
            .msg(8, time(1_700_000_000))
            .msg(9, time(1_700_000_030))
            .varint(10, 30)
            .entry(11, "app", b"web")
            .entry(11, "tier", b"front")
            .entry(12, "note", b"hello \xe2\x9c\x93")
            .msg(
                13,
                Pb::new()
                    .str(5, "apps/v1")
                    .str(1, "Deployment")
                    .str(3, "web")
                    .str(4, "uid-1")
                    .varint(6, 1)
                    .varint(7, 0),
            )
            .msg(
                13,
                Pb::new()
                    .str(5, "v1")
                    .str(1, "Pod")
                    .str(3, "p")
                    .str(4, "uid-2"),
            )
            .str(14, "example.com/a")
            .str(14, "example.com/b")
            .msg(
                17,
                Pb::new()
                    .str(1, "kubectl-create")
                    .str(2, "Update")
                    .str(3, "v1")
                    .msg(4, time(1_700_000_000))
                    .str(6, "FieldsV1")
                    .msg(7, Pb::new().bytes(1, fields_v1))
                    .str(8, "status"),
            )
            .msg(
                17,
                Pb::new()
                    .str(1, "other")
                    .msg(4, Pb::new())
                    .msg(7, Pb::new()),
            )
            .str(15, "legacy clusterName is skipped")
            .junk();
        let raw = Pb::new()
            .msg(1, metadata)
            .entry(2, "a", b"b")
            .entry(2, "empty", b"")
            .msg(2, Pb::new().str(1, "novalue"))
            .entry(3, "blob", b"\x00\xff\xfe")
            .varint(4, 1)
            .junk();
        assert_eq!(
            decode("v1", "ConfigMap", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "cm",
                    "generateName": "cm-",
                    "namespace": "default",
                    "selfLink": "/api/v1/namespaces/default/configmaps/cm",
                    "uid": "3f1b4d2c-0000-4000-8000-000000000001",
                    "resourceVersion": "42",
                    "generation": 3,
                    "creationTimestamp": "2023-11-14T22:13:20Z",
                    "deletionTimestamp": "2023-11-14T22:13:50Z",
                    "deletionGracePeriodSeconds": 30,
                    "labels": {"app": "web", "tier": "front"},
                    "annotations": {"note": "hello ✓"},
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "web",
                            "uid": "uid-1",
                            "controller": true,
                            "blockOwnerDeletion": false
                        },
                        {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "uid-2"}
                    ],
                    "finalizers": ["example.com/a", "example.com/b"],
                    "managedFields": [
                        {
                            "manager": "kubectl-create",
                            "operation": "Update",
                            "apiVersion": "v1",
                            "time": "2023-11-14T22:13:20Z",
                            "fieldsType": "FieldsV1",
                            "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {".": {}}}},
                            "subresource": "status"
                        },
                        {"manager": "other", "time": null, "fieldsV1": null}
                    ]
                },
                "data": {"a": "b", "empty": "", "novalue": ""},
                "binaryData": {"blob": "AP/+"},
                "immutable": true
            })
        );
    }

    #[test]
    fn minimal_objects_match_go_json() {
        // Go writes a zero (non-pointer) creationTimestamp as null, and empty Namespace spec and
        // status structs as {}; an absent metadata message still yields a metadata object.
        assert_eq!(
            decode("v1", "Namespace", &Pb::new()),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"creationTimestamp": null},
                "spec": {},
                "status": {}
            })
        );
        assert_eq!(
            decode("v1", "ConfigMap", &Pb::new().msg(1, meta("x"))),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "creationTimestamp": null}})
        );
        // Empty strings and zero numbers encoded explicitly (as Go does) are still omitted.
        let explicit_zeroes = Pb::new()
            .str(1, "x")
            .str(2, "")
            .str(3, "")
            .str(4, "")
            .str(5, "")
            .str(6, "")
            .varint(7, 0)
            .bytes(8, &[]);
        assert_eq!(
            decode("v1", "ServiceAccount", &Pb::new().msg(1, explicit_zeroes)),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "creationTimestamp": null}})
        );
    }

    #[test]
    fn namespace_spec_and_status() {
        let raw = Pb::new()
            .msg(1, meta("team-a"))
            .msg(2, Pb::new().str(1, "kubernetes").junk())
            .msg(
                3,
                Pb::new()
                    .str(1, "Terminating")
                    .msg(
                        2,
                        Pb::new()
                            .str(1, "NamespaceDeletionContentFailure")
                            .str(2, "False")
                            .msg(4, time(0))
                            .str(5, "ContentDeleted")
                            .str(6, "All content successfully deleted"),
                    )
                    .msg(
                        2,
                        Pb::new().str(1, "NamespaceContentRemaining").str(2, "True"),
                    ),
            );
        assert_eq!(
            decode("v1", "Namespace", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "team-a", "creationTimestamp": null},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {
                    "phase": "Terminating",
                    "conditions": [
                        {
                            "type": "NamespaceDeletionContentFailure",
                            "status": "False",
                            "lastTransitionTime": "1970-01-01T00:00:00Z",
                            "reason": "ContentDeleted",
                            "message": "All content successfully deleted"
                        },
                        {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": null}
                    ]
                }
            })
        );
    }

    #[test]
    fn secret_fields() {
        let raw = Pb::new()
            .msg(1, meta("s").str(3, "ns"))
            .entry(2, "key", b"\x00\xff binary")
            .entry(2, "user", b"admin")
            .str(3, "kubernetes.io/basic-auth")
            .entry(4, "password", b"hunter2")
            .varint(5, 0);
        assert_eq!(
            decode("v1", "Secret", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "ns", "creationTimestamp": null},
                "data": {"key": "AP8gYmluYXJ5", "user": "YWRtaW4="},
                "stringData": {"password": "hunter2"},
                "type": "kubernetes.io/basic-auth",
                "immutable": false
            })
        );
    }

    #[test]
    fn service_account_fields() {
        let raw = Pb::new()
            .msg(1, meta("builder").str(3, "ci"))
            .msg(
                2,
                Pb::new()
                    .str(1, "Secret")
                    .str(2, "ci")
                    .str(3, "builder-token")
                    .str(4, "uid-9")
                    .str(5, "v1")
                    .str(6, "7")
                    .str(7, "data")
                    .junk(),
            )
            .msg(2, Pb::new().str(3, "plain"))
            .msg(3, Pb::new().str(1, "registry"))
            .msg(3, Pb::new())
            .varint(4, 0);
        assert_eq!(
            decode("v1", "ServiceAccount", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "builder", "namespace": "ci", "creationTimestamp": null},
                "secrets": [
                    {
                        "kind": "Secret",
                        "namespace": "ci",
                        "name": "builder-token",
                        "uid": "uid-9",
                        "apiVersion": "v1",
                        "resourceVersion": "7",
                        "fieldPath": "data"
                    },
                    {"name": "plain"}
                ],
                "imagePullSecrets": [{"name": "registry"}, {}],
                "automountServiceAccountToken": false
            })
        );
    }

    #[test]
    fn role_rules() {
        let raw = Pb::new()
            .msg(1, meta("reader").str(3, "default"))
            .msg(
                2,
                Pb::new()
                    .str(1, "get")
                    .str(1, "list")
                    .str(2, "")
                    .str(3, "pods")
                    .str(4, "foo")
                    .junk(),
            )
            .msg(2, Pb::new().str(2, "apps").str(3, "deployments"))
            // A Role has no field 3: an aggregationRule-looking field is skipped.
            .msg(3, Pb::new().msg(1, Pb::new()));
        assert_eq!(
            decode("rbac.authorization.k8s.io/v1", "Role", &raw),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "reader", "namespace": "default", "creationTimestamp": null},
                "rules": [
                    {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["foo"]},
                    {"verbs": null, "apiGroups": ["apps"], "resources": ["deployments"]}
                ]
            })
        );
        // `rules` has no omitempty: no rules is null, as in Go.
        assert_eq!(
            decode(
                "rbac.authorization.k8s.io/v1",
                "Role",
                &Pb::new().msg(1, meta("r"))
            )["rules"],
            Value::Null
        );
    }

    #[test]
    fn cluster_role_with_aggregation_rule() {
        let selector = Pb::new()
            .entry(1, "rbac.example.com/aggregate-to-view", b"true")
            .msg(
                2,
                Pb::new()
                    .str(1, "tier")
                    .str(2, "In")
                    .str(3, "gold")
                    .str(3, "silver"),
            )
            .msg(2, Pb::new().str(1, "legacy").str(2, "DoesNotExist"));
        let raw = Pb::new()
            .msg(1, meta("view"))
            .msg(
                2,
                Pb::new().str(1, "get").str(5, "/healthz").str(5, "/logs/*"),
            )
            .msg(3, Pb::new().msg(1, selector).msg(1, Pb::new()).junk());
        assert_eq!(
            decode("rbac.authorization.k8s.io/v1", "ClusterRole", &raw),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "view", "creationTimestamp": null},
                "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}],
                "aggregationRule": {
                    "clusterRoleSelectors": [
                        {
                            "matchLabels": {"rbac.example.com/aggregate-to-view": "true"},
                            "matchExpressions": [
                                {"key": "tier", "operator": "In", "values": ["gold", "silver"]},
                                {"key": "legacy", "operator": "DoesNotExist"}
                            ]
                        },
                        {}
                    ]
                }
            })
        );
        // An empty aggregationRule is still present (pointer); no selectors are omitted.
        let empty = Pb::new().msg(1, meta("agg")).msg(3, Pb::new());
        assert_eq!(
            decode("rbac.authorization.k8s.io/v1", "ClusterRole", &empty)["aggregationRule"],
            json!({})
        );
    }

    #[test]
    fn role_bindings() {
        let raw = Pb::new()
            .msg(1, meta("rb").str(3, "default"))
            .msg(
                2,
                Pb::new()
                    .str(1, "User")
                    .str(2, "rbac.authorization.k8s.io")
                    .str(3, "alice"),
            )
            .msg(
                2,
                Pb::new()
                    .str(1, "ServiceAccount")
                    .str(3, "builder")
                    .str(4, "ci")
                    .junk(),
            )
            .msg(
                3,
                Pb::new()
                    .str(1, "rbac.authorization.k8s.io")
                    .str(2, "ClusterRole")
                    .str(3, "view"),
            );
        let expected_subjects = json!([
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
            {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}
        ]);
        let role_binding = decode("rbac.authorization.k8s.io/v1", "RoleBinding", &raw);
        assert_eq!(
            role_binding,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "rb", "namespace": "default", "creationTimestamp": null},
                "subjects": expected_subjects,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
            })
        );
        let cluster = decode("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &raw);
        assert_eq!(cluster["kind"], "ClusterRoleBinding");
        assert_eq!(cluster["subjects"], expected_subjects);

        // roleRef has no omitempty anywhere; no subjects are omitted.
        let bare = decode(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            &Pb::new().msg(1, meta("b")),
        );
        assert_eq!(
            bare,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "b", "creationTimestamp": null},
                "roleRef": {"apiGroup": "", "kind": "", "name": ""}
            })
        );
    }

    #[test]
    fn repeated_singular_fields_merge_or_replace() {
        // Two metadata occurrences merge; scalars and times take the last value.
        let raw = Pb::new()
            .msg(1, meta("first").entry(11, "a", b"1").msg(8, time(86_400)))
            .msg(
                1,
                Pb::new()
                    .str(1, "second")
                    .entry(11, "b", b"2")
                    .entry(11, "a", b"3"),
            )
            .msg(2, Pb::new().str(1, "x"))
            .msg(2, Pb::new().str(1, "y"))
            .msg(3, Pb::new().str(1, "Active"))
            .msg(3, Pb::new().str(1, "Terminating"));
        assert_eq!(
            decode("v1", "Namespace", &raw),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "second", "labels": {"a": "3", "b": "2"}, "creationTimestamp": "1970-01-02T00:00:00Z"},
                "spec": {"finalizers": ["x", "y"]},
                "status": {"phase": "Terminating"}
            })
        );
        // A later empty Time message resets to the zero time (Go's Time.Unmarshal replaces).
        let reset = Pb::new().msg(1, Pb::new().msg(8, time(5)).bytes(8, &[]));
        assert_eq!(
            decode("v1", "ConfigMap", &reset)["metadata"]["creationTimestamp"],
            Value::Null
        );
    }

    #[test]
    fn timestamps() {
        let created = |t: Pb| {
            let raw = Pb::new().msg(1, Pb::new().msg(8, t));
            decode_object(&envelope("v1", "ConfigMap", &raw))
                .map(|object| object["metadata"]["creationTimestamp"].clone())
        };
        assert_eq!(created(time(0)).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            created(Pb::new().varint(1, 0)).unwrap(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            created(Pb::new().varint(2, 5)).unwrap(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(created(time(951_782_400)).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(
            created(time(1_709_251_199)).unwrap(),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(created(time(-1)).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(
            created(time(MAX_RFC3339_UNIX)).unwrap(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            created(time(MIN_RFC3339_UNIX)).unwrap(),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            created(time(GO_ZERO_TIME_UNIX + 1)).unwrap(),
            "0001-01-01T00:00:01Z"
        );
        // Go's zero time, whether absent or encoded, is null.
        assert_eq!(created(time(GO_ZERO_TIME_UNIX)).unwrap(), Value::Null);
        assert_eq!(created(Pb::new()).unwrap(), Value::Null);
        assert!(
            created(time(MAX_RFC3339_UNIX + 1))
                .unwrap_err()
                .contains("outside")
        );
        assert!(created(time(i64::MIN)).unwrap_err().contains("outside"));
        assert!(
            created(Pb::new().str(1, "x"))
                .unwrap_err()
                .contains("wire type")
        );
    }

    #[test]
    fn fields_v1_must_be_json() {
        let raw = Pb::new().msg(
            1,
            Pb::new().msg(17, Pb::new().msg(7, Pb::new().bytes(1, b"{not json"))),
        );
        assert!(decode_err("v1", "ConfigMap", &raw).contains("not valid JSON"));
        let empty_raw = Pb::new().msg(
            1,
            Pb::new().msg(17, Pb::new().msg(7, Pb::new().bytes(1, b""))),
        );
        assert!(decode_err("v1", "ConfigMap", &empty_raw).contains("not valid JSON"));
    }

    #[test]
    fn envelope_errors() {
        let ok = envelope("v1", "ConfigMap", &Pb::new().msg(1, meta("x")));
        assert!(decode_object(&ok).is_ok());

        // Wrong or missing magic.
        for body in [
            &b""[..],
            b"k8s",
            b"k8s\x01\x0a\x00",
            b"{\"kind\":\"ConfigMap\"}",
        ] {
            assert!(
                decode_object(body).unwrap_err().contains("magic"),
                "{body:?}"
            );
        }
        // Missing kind.
        let mut no_kind = MAGIC.to_vec();
        no_kind.extend_from_slice(&Pb::new().msg(1, Pb::new().str(1, "v1")).0);
        assert!(decode_object(&no_kind).unwrap_err().contains("Kind"));
        assert!(decode_object(MAGIC).unwrap_err().contains("Kind"));
        // Unsupported kinds name apiVersion and kind.
        let err = decode_err("apps/v1", "Deployment", &Pb::new());
        assert!(
            err.contains("\"apps/v1\"") && err.contains("\"Deployment\""),
            "{err}"
        );
        let err = decode_err("rbac.authorization.k8s.io/v1beta1", "Role", &Pb::new());
        assert!(err.contains("v1beta1") && err.contains("\"Role\""), "{err}");
        // Encoded raw payloads are refused; a JSON payload inside the envelope is refused too.
        let mut gzip = MAGIC.to_vec();
        gzip.extend_from_slice(
            &Pb::new()
                .msg(1, Pb::new().str(1, "v1").str(2, "ConfigMap"))
                .str(3, "gzip")
                .0,
        );
        assert!(
            decode_object(&gzip)
                .unwrap_err()
                .contains("contentEncoding")
        );
        let mut json_payload = MAGIC.to_vec();
        json_payload.extend_from_slice(
            &Pb::new()
                .msg(1, Pb::new().str(1, "v1").str(2, "ConfigMap"))
                .str(4, "application/json")
                .0,
        );
        assert!(
            decode_object(&json_payload)
                .unwrap_err()
                .contains("contentType")
        );
        let mut protobuf_payload = MAGIC.to_vec();
        protobuf_payload.extend_from_slice(
            &Pb::new()
                .msg(1, Pb::new().str(1, "v1").str(2, "ConfigMap"))
                .str(4, "application/vnd.kubernetes.protobuf")
                .0,
        );
        assert!(decode_object(&protobuf_payload).is_ok());
    }

    #[test]
    fn truncated_input() {
        let body = envelope(
            "v1",
            "Secret",
            &Pb::new()
                .msg(1, meta("s").entry(11, "k", b"v"))
                .entry(2, "k", b"v"),
        );
        // Every prefix decodes or fails cleanly; dropping the last byte always fails.
        for len in 0..body.len() {
            let _ = decode_object(&body[..len]);
        }
        assert!(decode_object(&body[..body.len() - 1]).is_err());
        // Cut inside the raw object: the envelope length no longer matches.
        assert!(
            decode_object(&body[..body.len() - 6])
                .unwrap_err()
                .contains("past the end")
        );
        // A truncated varint.
        let mut cut = MAGIC.to_vec();
        cut.extend_from_slice(&[0x12, 0x80]);
        assert!(
            decode_object(&cut)
                .unwrap_err()
                .contains("truncated varint")
        );
    }

    #[test]
    fn lengths_past_the_end() {
        // A nested length larger than its enclosing message.
        let mut raw = Pb::new().key(1, 2).raw_varint(1000);
        raw.0.extend_from_slice(b"short");
        assert!(decode_err("v1", "ConfigMap", &raw).contains("past the end"));
        // Lengths that do not fit in usize or overflow pos + len.
        for len in [u64::MAX, u64::MAX / 2, 1 << 40] {
            let mut body = MAGIC.to_vec();
            body.extend_from_slice(&Pb::new().key(2, 2).raw_varint(len).0);
            body.extend_from_slice(b"abc");
            assert!(decode_object(&body).unwrap_err().contains("past the end"));
        }
        // Fixed-width fields cut short.
        let mut fixed = MAGIC.to_vec();
        fixed.extend_from_slice(&[0x0d, 1, 2]);
        assert!(decode_object(&fixed).is_err());
        let mut fixed64 = MAGIC.to_vec();
        fixed64.extend_from_slice(&[0x09, 1, 2, 3, 4, 5, 6, 7]);
        assert!(decode_object(&fixed64).is_err());
    }

    #[test]
    fn malformed_wire_data() {
        // Varint longer than 10 bytes / overflowing 64 bits.
        let mut long = MAGIC.to_vec();
        long.push(0x08);
        long.extend_from_slice(&[0xff; 10]);
        long.push(0x01);
        assert!(decode_object(&long).unwrap_err().contains("overflows"));
        let mut overflow = MAGIC.to_vec();
        overflow.push(0x08);
        overflow.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
        assert!(decode_object(&overflow).unwrap_err().contains("overflows"));
        // Field number 0, wire types 6 and 7, stray end-group.
        for bytes in [&[0x00, 0x00][..], &[0x0e], &[0x0f], &[0x0c]] {
            let mut body = MAGIC.to_vec();
            body.extend_from_slice(bytes);
            assert!(decode_object(&body).is_err(), "{bytes:?}");
        }
        // A known field with the wrong wire type.
        let err = decode_err("v1", "ConfigMap", &Pb::new().varint(1, 5));
        assert!(
            err.contains("ConfigMap.metadata") && err.contains("wire type"),
            "{err}"
        );
        let err = decode_err("v1", "ConfigMap", &Pb::new().str(4, "yes"));
        assert!(err.contains("ConfigMap.immutable"), "{err}");
        // Mismatched or unterminated groups.
        let mut unterminated = Pb::new().key(50, 3);
        unterminated = unterminated.varint(1, 1);
        assert!(decode_err("v1", "ConfigMap", &unterminated).contains("truncated group"));
        let mismatched = Pb::new().key(50, 3).key(51, 4);
        assert!(decode_err("v1", "ConfigMap", &mismatched).contains("end-group"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // Deeply nested groups in an unknown field are rejected without recursion.
        let mut deep = Pb::new();
        for _ in 0..10_000 {
            deep = deep.key(9, 3);
        }
        let err = decode_err("v1", "ConfigMap", &deep);
        assert!(err.contains("nesting"), "{err}");
        // Moderately nested groups are skipped.
        let mut nested = Pb::new();
        for _ in 0..10 {
            nested = Pb::new().group(9, nested);
        }
        assert!(decode_object(&envelope("v1", "ConfigMap", &nested.msg(1, meta("x")))).is_ok());
        // Deeply nested length-delimited unknown fields are opaque bytes: skipped, not parsed.
        let mut opaque = Pb::new().str(1, "leaf");
        for _ in 0..2_000 {
            opaque = Pb::new().msg(99, opaque);
        }
        let object = decode("v1", "ConfigMap", &opaque.msg(1, meta("x")));
        assert_eq!(object["metadata"]["name"], "x");
        // The depth guard itself.
        assert!(for_each_field(&[&[]], MAX_DEPTH + 1, |_, _| Ok(())).is_err());
    }

    #[test]
    fn unknown_fields_are_skipped_everywhere() {
        let raw = Pb::new()
            .junk()
            .msg(
                1,
                meta("x")
                    .junk()
                    .entry(11, "k", b"v")
                    .msg(11, Pb::new().str(1, "k2").str(2, "v2").junk()),
            )
            .junk()
            .entry(2, "a", b"b");
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(
            &Pb::new()
                .junk()
                .msg(1, Pb::new().junk().str(1, "v1").str(2, "ConfigMap"))
                .msg(2, raw)
                .junk()
                .0,
        );
        assert_eq!(
            decode_object(&body).unwrap(),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "labels": {"k": "v", "k2": "v2"}, "creationTimestamp": null},
                "data": {"a": "b"}
            })
        );
    }

    #[test]
    fn strings_must_be_utf8() {
        let bad = b"\xff\xfe";
        let cases = [
            Pb::new().msg(1, Pb::new().bytes(1, bad)),
            Pb::new().msg(1, Pb::new().entry(12, "k", bad)),
            Pb::new().msg(1, Pb::new().msg(12, Pb::new().bytes(1, bad))),
            Pb::new().entry(2, "k", bad),
        ];
        for raw in &cases {
            assert!(decode_err("v1", "ConfigMap", raw).contains("UTF-8"));
        }
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&Pb::new().msg(1, Pb::new().str(1, "v1").bytes(2, bad)).0);
        assert!(decode_object(&body).unwrap_err().contains("UTF-8"));
        // binaryData / Secret data are bytes: anything goes.
        let ok = decode("v1", "ConfigMap", &Pb::new().entry(3, "k", bad));
        assert_eq!(ok["binaryData"]["k"], "//4=");
    }

    /// xorshift64*: deterministic pseudo-random bytes without extra dependencies.
    fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn large_random_input_fails_cleanly() {
        let random = random_bytes(0x5eed, 3 * 1024 * 1024);
        assert!(decode_object(&random).is_err());
        let mut with_magic = MAGIC.to_vec();
        with_magic.extend_from_slice(&random);
        assert!(decode_object(&with_magic).is_err());
        // A valid envelope around a 3 MiB random raw object.
        let mut raw = Pb::new();
        raw.0 = random;
        for kind in ["Namespace", "ConfigMap", "Secret", "ServiceAccount"] {
            let _ = decode_object(&envelope("v1", kind, &raw));
        }
        for kind in ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"] {
            let _ = decode_object(&envelope("rbac.authorization.k8s.io/v1", kind, &raw));
        }
    }

    #[test]
    fn mutated_fixtures_never_panic() {
        let mut noise = random_bytes(42, 1 << 16).into_iter().cycle();
        let mut next = move || usize::from(noise.next().unwrap_or(0));
        for (name, fixture, _) in FIXTURES {
            for _ in 0..2_000 {
                let mut body = fixture.to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = (next() << 8 | next()) % body.len();
                    body[at] = next() as u8;
                }
                if next() % 4 == 0 {
                    body.truncate((next() << 8 | next()) % body.len());
                }
                let _ = decode_object(&body);
            }
            assert!(decode_object(fixture).is_ok(), "{name}");
        }
    }

    /// Bodies captured from `kubectl` v1.32.4 (identical bytes from v1.33.1) against a fake API
    /// server, and the JSON bodies kubectl v1.27.16 (which still sends JSON) posted for the same
    /// commands. See `tests/data/protobuf/README.md`.
    const FIXTURES: [(&str, &[u8], &str); 9] = [
        (
            "namespace",
            include_bytes!("../tests/data/protobuf/namespace.pb"),
            include_str!("../tests/data/protobuf/namespace.json"),
        ),
        (
            "configmap",
            include_bytes!("../tests/data/protobuf/configmap.pb"),
            include_str!("../tests/data/protobuf/configmap.json"),
        ),
        (
            "secret",
            include_bytes!("../tests/data/protobuf/secret.pb"),
            include_str!("../tests/data/protobuf/secret.json"),
        ),
        (
            "serviceaccount",
            include_bytes!("../tests/data/protobuf/serviceaccount.pb"),
            include_str!("../tests/data/protobuf/serviceaccount.json"),
        ),
        (
            "role",
            include_bytes!("../tests/data/protobuf/role.pb"),
            include_str!("../tests/data/protobuf/role.json"),
        ),
        (
            "rolebinding",
            include_bytes!("../tests/data/protobuf/rolebinding.pb"),
            include_str!("../tests/data/protobuf/rolebinding.json"),
        ),
        (
            "clusterrole",
            include_bytes!("../tests/data/protobuf/clusterrole.pb"),
            include_str!("../tests/data/protobuf/clusterrole.json"),
        ),
        (
            "clusterrole-aggregated",
            include_bytes!("../tests/data/protobuf/clusterrole-aggregated.pb"),
            include_str!("../tests/data/protobuf/clusterrole-aggregated.json"),
        ),
        (
            "clusterrolebinding",
            include_bytes!("../tests/data/protobuf/clusterrolebinding.pb"),
            include_str!("../tests/data/protobuf/clusterrolebinding.json"),
        ),
    ];

    #[test]
    fn real_kubectl_bodies_decode_to_kubectl_json() {
        for (name, body, golden) in FIXTURES {
            let decoded = decode_object(body).unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected: Value = serde_json::from_str(golden).unwrap();
            assert_eq!(decoded, expected, "{name}");
        }
    }

    #[test]
    fn real_kubectl_bodies_key_fields() {
        let [
            namespace,
            configmap,
            secret,
            serviceaccount,
            role,
            rolebinding,
            clusterrole,
            aggregated,
            clusterrolebinding,
        ] = FIXTURES
            .map(|(name, body, _)| decode_object(body).unwrap_or_else(|e| panic!("{name}: {e}")));

        assert_eq!(namespace["kind"], "Namespace");
        assert_eq!(namespace["metadata"]["name"], "ns1");
        assert_eq!(namespace["metadata"]["creationTimestamp"], Value::Null);
        assert_eq!(namespace["spec"], json!({}));

        assert_eq!(configmap["apiVersion"], "v1");
        assert_eq!(configmap["metadata"]["namespace"], "default");
        assert_eq!(configmap["data"], json!({"a": "b", "greeting": "hello"}));
        // bin.dat = 00 ff fe 80 "binary\n"
        assert_eq!(configmap["binaryData"]["blob"], "AP/+gGJpbmFyeQo=");

        assert_eq!(secret["type"], "Opaque");
        assert_eq!(secret["data"]["user"], "YWRtaW4=");
        assert_eq!(secret["data"]["key"], "AP/+gGJpbmFyeQo=");

        assert_eq!(serviceaccount["metadata"]["name"], "sa1");

        assert_eq!(role["apiVersion"], "rbac.authorization.k8s.io/v1");
        assert_eq!(role["rules"][0]["apiGroups"], json!([""]));
        assert_eq!(role["rules"][1]["resources"], json!(["deployments"]));
        assert_eq!(role["rules"][1]["resourceNames"], json!(["foo"]));

        assert_eq!(
            rolebinding["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"})
        );
        assert_eq!(
            rolebinding["subjects"][2],
            json!({"kind": "ServiceAccount", "name": "sa1", "namespace": "default"})
        );

        assert_eq!(
            clusterrole["rules"][0]["nonResourceURLs"],
            json!(["/logs/*", "/healthz"])
        );
        assert_eq!(aggregated["rules"], Value::Null);
        assert_eq!(
            aggregated["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]["tier"],
            "gold"
        );

        assert_eq!(clusterrolebinding["kind"], "ClusterRoleBinding");
        assert_eq!(clusterrolebinding["roleRef"]["name"], "cr1");
        assert_eq!(
            clusterrolebinding["subjects"][1]["namespace"],
            "kube-system"
        );
    }
}
