//! The v2 document in protobuf: gnostic's `openapi.v2.Document`
//! (github.com/google/gnostic-models `openapiv2/OpenAPIv2.proto`), which
//! is all kubectl asks `/openapi/v2` for. Encoded by hand from the JSON
//! document: only the messages and fields a Kubernetes document uses.
//! Free-form values (extensions, `default`, `enum`, `example`) go in
//! `Any.yaml` as JSON text, which is YAML, the way kube-openapi reads them.

use serde_json::{Map, Value};

/// A protobuf message being written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn string(&mut self, field: u32, value: &str) {
        if !value.is_empty() {
            self.bytes(field, value.as_bytes());
        }
    }

    /// A string field from a JSON string (anything else is skipped).
    fn string_of(&mut self, field: u32, value: Option<&Value>) {
        if let Some(Value::String(s)) = value {
            self.string(field, s);
        }
    }

    /// Repeated strings from a JSON string or array of strings.
    fn strings_of(&mut self, field: u32, value: Option<&Value>) {
        match value {
            Some(Value::String(s)) => self.bytes(field, s.as_bytes()),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::String(s) = item {
                        self.bytes(field, s.as_bytes());
                    }
                }
            }
            _ => {}
        }
    }

    fn bool(&mut self, field: u32, value: bool) {
        self.key(field, 0);
        self.varint(u64::from(value));
    }

    fn true_of(&mut self, field: u32, value: Option<&Value>) {
        if value == Some(&Value::Bool(true)) {
            self.bool(field, true);
        }
    }

    fn double_of(&mut self, field: u32, value: Option<&Value>) {
        if let Some(number) = value.and_then(Value::as_f64) {
            self.key(field, 1);
            self.0.extend_from_slice(&number.to_le_bytes());
        }
    }

    fn int64_of(&mut self, field: u32, value: Option<&Value>) {
        if let Some(number) = value.and_then(Value::as_i64) {
            self.key(field, 0);
            // Two's complement, as protobuf encodes a negative int64.
            self.varint(number as u64);
        }
    }

    fn message(&mut self, field: u32, write: impl FnOnce(&mut Message)) {
        let mut inner = Message::default();
        write(&mut inner);
        self.bytes(field, &inner.0);
    }

    /// `Any { yaml }` holding a JSON value.
    fn any(&mut self, field: u32, value: &Value) {
        let text = serde_json::to_string(value).unwrap_or_default();
        self.message(field, |any| any.string(2, &text));
    }

    /// `repeated NamedAny vendor_extension`: the `x-` keys of an object.
    fn extensions(&mut self, field: u32, obj: &Map<String, Value>) {
        for (name, value) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
            self.message(field, |named| {
                named.string(1, name);
                named.any(2, value);
            });
        }
    }
}

/// Encodes a Swagger 2.0 JSON document (as `render::v2_document` writes it).
pub(super) fn encode_document(doc: &Value) -> Vec<u8> {
    let mut out = Message::default();
    let Value::Object(doc) = doc else {
        return out.0;
    };
    out.string_of(1, doc.get("swagger"));
    if let Some(Value::Object(info)) = doc.get("info") {
        out.message(2, |m| {
            m.string_of(1, info.get("title"));
            m.string_of(2, info.get("version"));
            m.string_of(3, info.get("description"));
        });
    }
    if let Some(Value::Object(paths)) = doc.get("paths") {
        out.message(8, |m| {
            for (path, item) in paths {
                if let Value::Object(item) = item {
                    m.message(2, |named| {
                        named.string(1, path);
                        named.message(2, |pi| path_item(pi, item));
                    });
                }
            }
        });
    }
    if let Some(Value::Object(definitions)) = doc.get("definitions") {
        out.message(9, |m| named_schemas(m, 1, definitions));
    }
    for requirement in doc
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Value::Object(requirement) = requirement {
            out.message(12, |m| {
                for (name, scopes) in requirement {
                    m.message(1, |named| {
                        named.string(1, name);
                        named.message(2, |array| array.strings_of(1, Some(scopes)));
                    });
                }
            });
        }
    }
    if let Some(Value::Object(definitions)) = doc.get("securityDefinitions") {
        out.message(13, |m| {
            for (name, definition) in definitions {
                let Value::Object(definition) = definition else {
                    continue;
                };
                m.message(1, |named| {
                    named.string(1, name);
                    // SecurityDefinitionsItem.api_key_security: the only kind written.
                    named.message(2, |item| {
                        item.message(2, |key| {
                            key.string_of(1, definition.get("type"));
                            key.string_of(2, definition.get("name"));
                            key.string_of(3, definition.get("in"));
                            key.string_of(4, definition.get("description"));
                        });
                    });
                });
            }
        });
    }
    out.extensions(16, doc);
    out.0
}

fn path_item(m: &mut Message, item: &Map<String, Value>) {
    for (method, field) in [
        ("get", 2),
        ("put", 3),
        ("post", 4),
        ("delete", 5),
        ("options", 6),
        ("head", 7),
        ("patch", 8),
    ] {
        if let Some(Value::Object(op)) = item.get(method) {
            m.message(field, |o| operation(o, op));
        }
    }
    for param in item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Value::Object(param) = param {
            m.message(9, |p| parameters_item(p, param));
        }
    }
    m.extensions(10, item);
}

fn operation(m: &mut Message, op: &Map<String, Value>) {
    m.strings_of(1, op.get("tags"));
    m.string_of(2, op.get("summary"));
    m.string_of(3, op.get("description"));
    m.string_of(5, op.get("operationId"));
    m.strings_of(6, op.get("produces"));
    m.strings_of(7, op.get("consumes"));
    for param in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Value::Object(param) = param {
            m.message(8, |p| parameters_item(p, param));
        }
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        m.message(9, |r| {
            for (code, response) in responses {
                let Value::Object(response) = response else {
                    continue;
                };
                r.message(1, |named| {
                    named.string(1, code);
                    // ResponseValue.response
                    named.message(2, |value| {
                        value.message(1, |resp| {
                            resp.string_of(1, response.get("description"));
                            if let Some(Value::Object(schema_value)) = response.get("schema") {
                                // SchemaItem.schema
                                resp.message(2, |item| {
                                    item.message(1, |s| schema(s, schema_value))
                                });
                            }
                            resp.extensions(5, response);
                        });
                    });
                });
            }
        });
    }
    m.strings_of(10, op.get("schemes"));
    m.true_of(11, op.get("deprecated"));
    m.extensions(13, op);
}

/// `ParametersItem.parameter`: a body parameter, or a query or path one.
fn parameters_item(m: &mut Message, param: &Map<String, Value>) {
    m.message(1, |p| {
        if param.get("in") == Some(&Value::String("body".to_owned())) {
            p.message(1, |body| {
                body.string_of(1, param.get("description"));
                body.string_of(2, param.get("name"));
                body.string_of(3, param.get("in"));
                body.true_of(4, param.get("required"));
                if let Some(Value::Object(schema_value)) = param.get("schema") {
                    body.message(5, |s| schema(s, schema_value));
                }
                body.extensions(6, param);
            });
            return;
        }
        // NonBodyParameter: query (3) or path (4) sub-schemas; their
        // fields share numbers up to `name`, then differ by one.
        let (variant, type_field, unique_field, extension_field) =
            if param.get("in") == Some(&Value::String("path".to_owned())) {
                (4, 5, 19, 22)
            } else {
                (3, 6, 20, 23)
            };
        p.message(2, |non_body| {
            non_body.message(variant, |q| {
                q.true_of(1, param.get("required"));
                q.string_of(2, param.get("in"));
                q.string_of(3, param.get("description"));
                q.string_of(4, param.get("name"));
                q.string_of(type_field, param.get("type"));
                q.true_of(unique_field, param.get("uniqueItems"));
                q.extensions(extension_field, param);
            });
        });
    });
}

fn named_schemas(m: &mut Message, field: u32, schemas: &Map<String, Value>) {
    for (name, value) in schemas {
        if let Value::Object(value) = value {
            m.message(field, |named| {
                named.string(1, name);
                named.message(2, |s| schema(s, value));
            });
        }
    }
}

fn schema(m: &mut Message, s: &Map<String, Value>) {
    m.string_of(1, s.get("$ref"));
    m.string_of(2, s.get("format"));
    m.string_of(3, s.get("title"));
    m.string_of(4, s.get("description"));
    if let Some(value) = s.get("default") {
        m.any(5, value);
    }
    m.double_of(6, s.get("multipleOf"));
    m.double_of(7, s.get("maximum"));
    m.true_of(8, s.get("exclusiveMaximum"));
    m.double_of(9, s.get("minimum"));
    m.true_of(10, s.get("exclusiveMinimum"));
    m.int64_of(11, s.get("maxLength"));
    m.int64_of(12, s.get("minLength"));
    m.string_of(13, s.get("pattern"));
    m.int64_of(14, s.get("maxItems"));
    m.int64_of(15, s.get("minItems"));
    m.true_of(16, s.get("uniqueItems"));
    m.int64_of(17, s.get("maxProperties"));
    m.int64_of(18, s.get("minProperties"));
    m.strings_of(19, s.get("required"));
    for value in s
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.any(20, value);
    }
    match s.get("additionalProperties") {
        Some(Value::Object(additional)) => {
            m.message(21, |a| a.message(1, |sub| schema(sub, additional)))
        }
        Some(Value::Bool(allowed)) => m.message(21, |a| a.bool(2, *allowed)),
        _ => {}
    }
    if s.get("type").is_some() {
        m.message(22, |t| t.strings_of(1, s.get("type")));
    }
    match s.get("items") {
        Some(Value::Object(items)) => m.message(23, |i| i.message(1, |sub| schema(sub, items))),
        Some(Value::Array(items)) => m.message(23, |i| {
            for item in items {
                if let Value::Object(item) = item {
                    i.message(1, |sub| schema(sub, item));
                }
            }
        }),
        _ => {}
    }
    for sub in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Value::Object(sub) = sub {
            m.message(24, |a| schema(a, sub));
        }
    }
    if let Some(Value::Object(properties)) = s.get("properties") {
        m.message(25, |p| named_schemas(p, 1, properties));
    }
    m.string_of(26, s.get("discriminator"));
    m.true_of(27, s.get("readOnly"));
    if let Some(Value::Object(docs)) = s.get("externalDocs") {
        m.message(29, |d| {
            d.string_of(1, docs.get("description"));
            d.string_of(2, docs.get("url"));
        });
    }
    if let Some(value) = s.get("example") {
        m.any(30, value);
    }
    m.extensions(31, s);
}
