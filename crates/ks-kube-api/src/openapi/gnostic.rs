//! The v2 document in protobuf: gnostic's `openapi.v2.Document`
//! (github.com/google/gnostic-models `openapiv2/OpenAPIv2.proto`), which
//! is all kubectl asks `/openapi/v2` for. The messages below mirror that
//! proto, with its field numbers and oneofs, and prost encodes them; only
//! the messages, fields and oneof variants a Kubernetes document fills are
//! declared. Free-form values (extensions, `default`, `enum`, `example`) go
//! in `Any.yaml` as JSON text, which is YAML, the way kube-openapi reads them.

use prost::{Message, Oneof};
use serde_json::{Map, Value};

#[derive(Message)]
struct Document {
    #[prost(string, tag = "1")]
    swagger: String,
    #[prost(message, optional, tag = "2")]
    info: Option<Info>,
    #[prost(message, optional, tag = "8")]
    paths: Option<Paths>,
    #[prost(message, optional, tag = "9")]
    definitions: Option<Definitions>,
    #[prost(message, repeated, tag = "12")]
    security: Vec<SecurityRequirement>,
    #[prost(message, optional, tag = "13")]
    security_definitions: Option<SecurityDefinitions>,
    #[prost(message, repeated, tag = "16")]
    vendor_extension: Vec<NamedAny>,
}

#[derive(Message)]
struct Info {
    #[prost(string, tag = "1")]
    title: String,
    #[prost(string, tag = "2")]
    version: String,
    #[prost(string, tag = "3")]
    description: String,
}

#[derive(Message)]
struct Paths {
    #[prost(message, repeated, tag = "2")]
    path: Vec<NamedPathItem>,
}

#[derive(Message)]
struct NamedPathItem {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<PathItem>,
}

#[derive(Message)]
struct PathItem {
    #[prost(message, optional, tag = "2")]
    get: Option<Operation>,
    #[prost(message, optional, tag = "3")]
    put: Option<Operation>,
    #[prost(message, optional, tag = "4")]
    post: Option<Operation>,
    #[prost(message, optional, tag = "5")]
    delete: Option<Operation>,
    #[prost(message, optional, tag = "6")]
    options: Option<Operation>,
    #[prost(message, optional, tag = "7")]
    head: Option<Operation>,
    #[prost(message, optional, tag = "8")]
    patch: Option<Operation>,
    #[prost(message, repeated, tag = "9")]
    parameters: Vec<ParametersItem>,
    #[prost(message, repeated, tag = "10")]
    vendor_extension: Vec<NamedAny>,
}

#[derive(Message)]
struct Operation {
    #[prost(string, repeated, tag = "1")]
    tags: Vec<String>,
    #[prost(string, tag = "2")]
    summary: String,
    #[prost(string, tag = "3")]
    description: String,
    #[prost(string, tag = "5")]
    operation_id: String,
    #[prost(string, repeated, tag = "6")]
    produces: Vec<String>,
    #[prost(string, repeated, tag = "7")]
    consumes: Vec<String>,
    #[prost(message, repeated, tag = "8")]
    parameters: Vec<ParametersItem>,
    #[prost(message, optional, tag = "9")]
    responses: Option<Responses>,
    #[prost(string, repeated, tag = "10")]
    schemes: Vec<String>,
    #[prost(bool, tag = "11")]
    deprecated: bool,
    #[prost(message, repeated, tag = "13")]
    vendor_extension: Vec<NamedAny>,
}

/// gnostic's `ParametersItem` (oneof: parameter = 1, json_reference = 2).
#[derive(Message)]
struct ParametersItem {
    #[prost(oneof = "ParametersItemOneof", tags = "1")]
    oneof: Option<ParametersItemOneof>,
}

#[derive(Oneof)]
enum ParametersItemOneof {
    #[prost(message, tag = "1")]
    Parameter(Parameter),
}

/// gnostic's `Parameter` (oneof: body_parameter = 1, non_body_parameter = 2).
#[derive(Message)]
struct Parameter {
    #[prost(oneof = "ParameterOneof", tags = "1, 2")]
    oneof: Option<ParameterOneof>,
}

#[derive(Oneof)]
enum ParameterOneof {
    #[prost(message, tag = "1")]
    BodyParameter(BodyParameter),
    #[prost(message, tag = "2")]
    NonBodyParameter(NonBodyParameter),
}

#[derive(Message)]
struct BodyParameter {
    #[prost(string, tag = "1")]
    description: String,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    r#in: String,
    #[prost(bool, tag = "4")]
    required: bool,
    #[prost(message, optional, boxed, tag = "5")]
    schema: Option<Box<Schema>>,
    #[prost(message, repeated, tag = "6")]
    vendor_extension: Vec<NamedAny>,
}

/// gnostic's `NonBodyParameter` (oneof: header = 1, form_data = 2, query = 3,
/// path = 4 parameter sub-schemas).
#[derive(Message)]
struct NonBodyParameter {
    #[prost(oneof = "NonBodyParameterOneof", tags = "3, 4")]
    oneof: Option<NonBodyParameterOneof>,
}

#[derive(Oneof)]
enum NonBodyParameterOneof {
    #[prost(message, tag = "3")]
    QueryParameterSubSchema(QueryParameterSubSchema),
    #[prost(message, tag = "4")]
    PathParameterSubSchema(PathParameterSubSchema),
}

#[derive(Message)]
struct QueryParameterSubSchema {
    #[prost(bool, tag = "1")]
    required: bool,
    #[prost(string, tag = "2")]
    r#in: String,
    #[prost(string, tag = "3")]
    description: String,
    #[prost(string, tag = "4")]
    name: String,
    #[prost(string, tag = "6")]
    r#type: String,
    #[prost(bool, tag = "20")]
    unique_items: bool,
    #[prost(message, repeated, tag = "23")]
    vendor_extension: Vec<NamedAny>,
}

#[derive(Message)]
struct PathParameterSubSchema {
    #[prost(bool, tag = "1")]
    required: bool,
    #[prost(string, tag = "2")]
    r#in: String,
    #[prost(string, tag = "3")]
    description: String,
    #[prost(string, tag = "4")]
    name: String,
    #[prost(string, tag = "5")]
    r#type: String,
    #[prost(bool, tag = "19")]
    unique_items: bool,
    #[prost(message, repeated, tag = "22")]
    vendor_extension: Vec<NamedAny>,
}

#[derive(Message)]
struct Responses {
    #[prost(message, repeated, tag = "1")]
    response_code: Vec<NamedResponseValue>,
}

#[derive(Message)]
struct NamedResponseValue {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<ResponseValue>,
}

/// gnostic's `ResponseValue` (oneof: response = 1, json_reference = 2).
#[derive(Message)]
struct ResponseValue {
    #[prost(oneof = "ResponseValueOneof", tags = "1")]
    oneof: Option<ResponseValueOneof>,
}

#[derive(Oneof)]
enum ResponseValueOneof {
    #[prost(message, tag = "1")]
    Response(Response),
}

#[derive(Message)]
struct Response {
    #[prost(string, tag = "1")]
    description: String,
    #[prost(message, optional, tag = "2")]
    schema: Option<SchemaItem>,
    #[prost(message, repeated, tag = "5")]
    vendor_extension: Vec<NamedAny>,
}

/// gnostic's `SchemaItem` (oneof: schema = 1, file_schema = 2).
#[derive(Message)]
struct SchemaItem {
    #[prost(oneof = "SchemaItemOneof", tags = "1")]
    oneof: Option<SchemaItemOneof>,
}

#[derive(Oneof)]
enum SchemaItemOneof {
    #[prost(message, tag = "1")]
    Schema(Box<Schema>),
}

#[derive(Message)]
struct Definitions {
    #[prost(message, repeated, tag = "1")]
    additional_properties: Vec<NamedSchema>,
}

#[derive(Message)]
struct NamedSchema {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<Schema>,
}

/// Every field of gnostic's `Schema` but `xml` (28).
#[derive(Message)]
struct Schema {
    /// `_ref` in the proto.
    #[prost(string, tag = "1")]
    reference: String,
    #[prost(string, tag = "2")]
    format: String,
    #[prost(string, tag = "3")]
    title: String,
    #[prost(string, tag = "4")]
    description: String,
    #[prost(message, optional, tag = "5")]
    default: Option<Any>,
    #[prost(double, tag = "6")]
    multiple_of: f64,
    #[prost(double, tag = "7")]
    maximum: f64,
    #[prost(bool, tag = "8")]
    exclusive_maximum: bool,
    #[prost(double, tag = "9")]
    minimum: f64,
    #[prost(bool, tag = "10")]
    exclusive_minimum: bool,
    #[prost(int64, tag = "11")]
    max_length: i64,
    #[prost(int64, tag = "12")]
    min_length: i64,
    #[prost(string, tag = "13")]
    pattern: String,
    #[prost(int64, tag = "14")]
    max_items: i64,
    #[prost(int64, tag = "15")]
    min_items: i64,
    #[prost(bool, tag = "16")]
    unique_items: bool,
    #[prost(int64, tag = "17")]
    max_properties: i64,
    #[prost(int64, tag = "18")]
    min_properties: i64,
    #[prost(string, repeated, tag = "19")]
    required: Vec<String>,
    #[prost(message, repeated, tag = "20")]
    r#enum: Vec<Any>,
    #[prost(message, optional, tag = "21")]
    additional_properties: Option<AdditionalPropertiesItem>,
    #[prost(message, optional, tag = "22")]
    r#type: Option<TypeItem>,
    #[prost(message, optional, tag = "23")]
    items: Option<ItemsItem>,
    #[prost(message, repeated, tag = "24")]
    all_of: Vec<Schema>,
    #[prost(message, optional, tag = "25")]
    properties: Option<Properties>,
    #[prost(string, tag = "26")]
    discriminator: String,
    #[prost(bool, tag = "27")]
    read_only: bool,
    #[prost(message, optional, tag = "29")]
    external_docs: Option<ExternalDocs>,
    #[prost(message, optional, tag = "30")]
    example: Option<Any>,
    #[prost(message, repeated, tag = "31")]
    vendor_extension: Vec<NamedAny>,
}

/// gnostic's `AdditionalPropertiesItem` (oneof: schema = 1, boolean = 2).
#[derive(Message)]
struct AdditionalPropertiesItem {
    #[prost(oneof = "AdditionalPropertiesOneof", tags = "1, 2")]
    oneof: Option<AdditionalPropertiesOneof>,
}

#[derive(Oneof)]
enum AdditionalPropertiesOneof {
    #[prost(message, tag = "1")]
    Schema(Box<Schema>),
    #[prost(bool, tag = "2")]
    Boolean(bool),
}

#[derive(Message)]
struct TypeItem {
    #[prost(string, repeated, tag = "1")]
    value: Vec<String>,
}

#[derive(Message)]
struct ItemsItem {
    #[prost(message, repeated, tag = "1")]
    schema: Vec<Schema>,
}

#[derive(Message)]
struct Properties {
    #[prost(message, repeated, tag = "1")]
    additional_properties: Vec<NamedSchema>,
}

#[derive(Message)]
struct ExternalDocs {
    #[prost(string, tag = "1")]
    description: String,
    #[prost(string, tag = "2")]
    url: String,
}

#[derive(Message)]
struct SecurityRequirement {
    #[prost(message, repeated, tag = "1")]
    additional_properties: Vec<NamedStringArray>,
}

#[derive(Message)]
struct NamedStringArray {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<StringArray>,
}

#[derive(Message)]
struct StringArray {
    #[prost(string, repeated, tag = "1")]
    value: Vec<String>,
}

#[derive(Message)]
struct SecurityDefinitions {
    #[prost(message, repeated, tag = "1")]
    additional_properties: Vec<NamedSecurityDefinitionsItem>,
}

#[derive(Message)]
struct NamedSecurityDefinitionsItem {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<SecurityDefinitionsItem>,
}

/// gnostic's `SecurityDefinitionsItem` (oneof: basic_authentication = 1,
/// api_key = 2, then four OAuth 2 flows).
#[derive(Message)]
struct SecurityDefinitionsItem {
    #[prost(oneof = "SecurityDefinitionsOneof", tags = "2")]
    oneof: Option<SecurityDefinitionsOneof>,
}

#[derive(Oneof)]
enum SecurityDefinitionsOneof {
    #[prost(message, tag = "2")]
    ApiKeySecurity(ApiKeySecurity),
}

#[derive(Message)]
struct ApiKeySecurity {
    #[prost(string, tag = "1")]
    r#type: String,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    r#in: String,
    #[prost(string, tag = "4")]
    description: String,
}

/// gnostic's `NamedAny`: one `x-` extension.
#[derive(Message)]
struct NamedAny {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<Any>,
}

/// gnostic's `Any`; only `yaml` (2) is filled.
#[derive(Message)]
struct Any {
    #[prost(string, tag = "2")]
    yaml: String,
}

/// Encodes a Swagger 2.0 JSON document (as `render::v2_document` writes it).
pub(super) fn encode_document(doc: &Value) -> Vec<u8> {
    let Some(doc) = doc.as_object() else {
        return Vec::new();
    };
    let document = Document {
        swagger: text(doc.get("swagger")),
        info: object(doc.get("info")).map(|info| Info {
            title: text(info.get("title")),
            version: text(info.get("version")),
            description: text(info.get("description")),
        }),
        paths: object(doc.get("paths")).map(|paths| Paths {
            path: paths
                .iter()
                .filter_map(|(name, item)| {
                    Some(NamedPathItem {
                        name: name.clone(),
                        value: Some(path_item(item.as_object()?)),
                    })
                })
                .collect(),
        }),
        definitions: object(doc.get("definitions")).map(|definitions| Definitions {
            additional_properties: named_schemas(definitions),
        }),
        security: objects(doc.get("security"))
            .map(|requirement| SecurityRequirement {
                additional_properties: requirement
                    .iter()
                    .map(|(name, scopes)| NamedStringArray {
                        name: name.clone(),
                        value: Some(StringArray {
                            value: texts(Some(scopes)),
                        }),
                    })
                    .collect(),
            })
            .collect(),
        security_definitions: object(doc.get("securityDefinitions")).map(|definitions| {
            SecurityDefinitions {
                additional_properties: definitions
                    .iter()
                    .filter_map(|(name, definition)| {
                        let definition = definition.as_object()?;
                        // API keys are the only kind of security a Kubernetes document defines.
                        let api_key = ApiKeySecurity {
                            r#type: text(definition.get("type")),
                            name: text(definition.get("name")),
                            r#in: text(definition.get("in")),
                            description: text(definition.get("description")),
                        };
                        Some(NamedSecurityDefinitionsItem {
                            name: name.clone(),
                            value: Some(SecurityDefinitionsItem {
                                oneof: Some(SecurityDefinitionsOneof::ApiKeySecurity(api_key)),
                            }),
                        })
                    })
                    .collect(),
            }
        }),
        vendor_extension: extensions(doc),
    };
    document.encode_to_vec()
}

fn path_item(item: &Map<String, Value>) -> PathItem {
    let operation = |method: &str| object(item.get(method)).map(operation);
    PathItem {
        get: operation("get"),
        put: operation("put"),
        post: operation("post"),
        delete: operation("delete"),
        options: operation("options"),
        head: operation("head"),
        patch: operation("patch"),
        parameters: objects(item.get("parameters"))
            .map(parameters_item)
            .collect(),
        vendor_extension: extensions(item),
    }
}

fn operation(op: &Map<String, Value>) -> Operation {
    Operation {
        tags: texts(op.get("tags")),
        summary: text(op.get("summary")),
        description: text(op.get("description")),
        operation_id: text(op.get("operationId")),
        produces: texts(op.get("produces")),
        consumes: texts(op.get("consumes")),
        parameters: objects(op.get("parameters")).map(parameters_item).collect(),
        responses: object(op.get("responses")).map(|responses| Responses {
            response_code: responses
                .iter()
                .filter_map(|(code, response)| {
                    let response = response.as_object()?;
                    let response = Response {
                        description: text(response.get("description")),
                        schema: object(response.get("schema")).map(|schema_value| SchemaItem {
                            oneof: Some(SchemaItemOneof::Schema(Box::new(schema(schema_value)))),
                        }),
                        vendor_extension: extensions(response),
                    };
                    Some(NamedResponseValue {
                        name: code.clone(),
                        value: Some(ResponseValue {
                            oneof: Some(ResponseValueOneof::Response(response)),
                        }),
                    })
                })
                .collect(),
        }),
        schemes: texts(op.get("schemes")),
        deprecated: flag(op.get("deprecated")),
        vendor_extension: extensions(op),
    }
}

/// A body parameter, or else a path or query one.
fn parameters_item(param: &Map<String, Value>) -> ParametersItem {
    let location = text(param.get("in"));
    let parameter = match location.as_str() {
        "body" => ParameterOneof::BodyParameter(BodyParameter {
            description: text(param.get("description")),
            name: text(param.get("name")),
            r#in: location,
            required: flag(param.get("required")),
            schema: object(param.get("schema")).map(|s| Box::new(schema(s))),
            vendor_extension: extensions(param),
        }),
        "path" => ParameterOneof::NonBodyParameter(NonBodyParameter {
            oneof: Some(NonBodyParameterOneof::PathParameterSubSchema(
                PathParameterSubSchema {
                    required: flag(param.get("required")),
                    r#in: location,
                    description: text(param.get("description")),
                    name: text(param.get("name")),
                    r#type: text(param.get("type")),
                    unique_items: flag(param.get("uniqueItems")),
                    vendor_extension: extensions(param),
                },
            )),
        }),
        _ => ParameterOneof::NonBodyParameter(NonBodyParameter {
            oneof: Some(NonBodyParameterOneof::QueryParameterSubSchema(
                QueryParameterSubSchema {
                    required: flag(param.get("required")),
                    r#in: location,
                    description: text(param.get("description")),
                    name: text(param.get("name")),
                    r#type: text(param.get("type")),
                    unique_items: flag(param.get("uniqueItems")),
                    vendor_extension: extensions(param),
                },
            )),
        }),
    };
    ParametersItem {
        oneof: Some(ParametersItemOneof::Parameter(Parameter {
            oneof: Some(parameter),
        })),
    }
}

fn named_schemas(schemas: &Map<String, Value>) -> Vec<NamedSchema> {
    schemas
        .iter()
        .filter_map(|(name, value)| {
            Some(NamedSchema {
                name: name.clone(),
                value: Some(schema(value.as_object()?)),
            })
        })
        .collect()
}

fn schema(s: &Map<String, Value>) -> Schema {
    Schema {
        reference: text(s.get("$ref")),
        format: text(s.get("format")),
        title: text(s.get("title")),
        description: text(s.get("description")),
        default: s.get("default").map(any),
        multiple_of: number(s.get("multipleOf")),
        maximum: number(s.get("maximum")),
        exclusive_maximum: flag(s.get("exclusiveMaximum")),
        minimum: number(s.get("minimum")),
        exclusive_minimum: flag(s.get("exclusiveMinimum")),
        max_length: integer(s.get("maxLength")),
        min_length: integer(s.get("minLength")),
        pattern: text(s.get("pattern")),
        max_items: integer(s.get("maxItems")),
        min_items: integer(s.get("minItems")),
        unique_items: flag(s.get("uniqueItems")),
        max_properties: integer(s.get("maxProperties")),
        min_properties: integer(s.get("minProperties")),
        required: texts(s.get("required")),
        r#enum: s
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(any)
            .collect(),
        additional_properties: match s.get("additionalProperties") {
            Some(Value::Object(additional)) => Some(AdditionalPropertiesOneof::Schema(Box::new(
                schema(additional),
            ))),
            Some(Value::Bool(allowed)) => Some(AdditionalPropertiesOneof::Boolean(*allowed)),
            _ => None,
        }
        .map(|oneof| AdditionalPropertiesItem { oneof: Some(oneof) }),
        r#type: s.get("type").map(|types| TypeItem {
            value: texts(Some(types)),
        }),
        items: match s.get("items") {
            Some(Value::Object(items)) => Some(ItemsItem {
                schema: vec![schema(items)],
            }),
            Some(items @ Value::Array(_)) => Some(ItemsItem {
                schema: objects(Some(items)).map(schema).collect(),
            }),
            _ => None,
        },
        all_of: objects(s.get("allOf")).map(schema).collect(),
        properties: object(s.get("properties")).map(|properties| Properties {
            additional_properties: named_schemas(properties),
        }),
        discriminator: text(s.get("discriminator")),
        read_only: flag(s.get("readOnly")),
        external_docs: object(s.get("externalDocs")).map(|docs| ExternalDocs {
            description: text(docs.get("description")),
            url: text(docs.get("url")),
        }),
        example: s.get("example").map(any),
        vendor_extension: extensions(s),
    }
}

// JSON readers: a value of another JSON type than the field's reads as absent.

fn object(value: Option<&Value>) -> Option<&Map<String, Value>> {
    value.and_then(Value::as_object)
}

/// The objects of a JSON array.
fn objects(value: Option<&Value>) -> impl Iterator<Item = &Map<String, Value>> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn text(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Repeated strings from a JSON string or array of strings.
fn texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn flag(value: Option<&Value>) -> bool {
    value == Some(&Value::Bool(true))
}

fn number(value: Option<&Value>) -> f64 {
    value.and_then(Value::as_f64).unwrap_or_default()
}

fn integer(value: Option<&Value>) -> i64 {
    value.and_then(Value::as_i64).unwrap_or_default()
}

/// `Any { yaml }` holding a JSON value.
fn any(value: &Value) -> Any {
    Any {
        yaml: serde_json::to_string(value).unwrap_or_default(),
    }
}

/// `repeated NamedAny vendor_extension`: the `x-` keys of an object.
fn extensions(obj: &Map<String, Value>) -> Vec<NamedAny> {
    obj.iter()
        .filter(|(key, _)| key.starts_with("x-"))
        .map(|(name, value)| NamedAny {
            name: name.clone(),
            value: Some(any(value)),
        })
        .collect()
}
