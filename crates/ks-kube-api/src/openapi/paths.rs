//! The REST paths and operations of a resource, as kube-apiserver's
//! endpoint installer (built-in kinds) and apiextensions-apiserver's
//! OpenAPI builder (custom resources) describe them; rendered to v3 or v2
//! by `render`.

use crate::resources::ResourceDef;

use super::components::{self, Gvk, Names};

/// An HTTP method, in the order operations are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Put,
    Post,
    Delete,
    Patch,
}

impl Method {
    /// The key of the operation in a path item.
    pub(super) fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Patch => "patch",
        }
    }
}

/// A parameter's JSON type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ParamType {
    String,
    Integer,
    Boolean,
}

impl ParamType {
    pub(super) fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
        }
    }
}

/// A parameter (query, or path when `in_path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Param {
    pub(super) name: &'static str,
    pub(super) type_: ParamType,
    pub(super) description: String,
    pub(super) in_path: bool,
}

/// A query parameter of the option types, with Kubernetes' description.
#[derive(Clone, Copy)]
struct QueryParam {
    name: &'static str,
    type_: ParamType,
    description: &'static str,
}

const fn query(name: &'static str, type_: ParamType, description: &'static str) -> QueryParam {
    QueryParam {
        name,
        type_,
        description,
    }
}

// Kubernetes' descriptions, shortened where they run to paragraphs.
const PRETTY: QueryParam = query(
    "pretty",
    ParamType::String,
    "If 'true', then the output is pretty printed.",
);
const DRY_RUN: QueryParam = query(
    "dryRun",
    ParamType::String,
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
);
const FIELD_MANAGER: QueryParam = query(
    "fieldManager",
    ParamType::String,
    "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
);
const FIELD_VALIDATION: QueryParam = query(
    "fieldValidation",
    ParamType::String,
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
);
const FORCE: QueryParam = query(
    "force",
    ParamType::Boolean,
    "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
);
const ALLOW_WATCH_BOOKMARKS: QueryParam = query(
    "allowWatchBookmarks",
    ParamType::Boolean,
    "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.",
);
const CONTINUE: QueryParam = query(
    "continue",
    ParamType::String,
    "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize.",
);
const FIELD_SELECTOR: QueryParam = query(
    "fieldSelector",
    ParamType::String,
    "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
);
const LABEL_SELECTOR: QueryParam = query(
    "labelSelector",
    ParamType::String,
    "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
);
const LIMIT: QueryParam = query(
    "limit",
    ParamType::Integer,
    "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.",
);
const RESOURCE_VERSION: QueryParam = query(
    "resourceVersion",
    ParamType::String,
    "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
);
const RESOURCE_VERSION_MATCH: QueryParam = query(
    "resourceVersionMatch",
    ParamType::String,
    "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
);
const SEND_INITIAL_EVENTS: QueryParam = query(
    "sendInitialEvents",
    ParamType::Boolean,
    "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic \"Bookmark\" event  will be sent.",
);
const TIMEOUT_SECONDS: QueryParam = query(
    "timeoutSeconds",
    ParamType::Integer,
    "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
);
const WATCH: QueryParam = query(
    "watch",
    ParamType::Boolean,
    "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.",
);
const GRACE_PERIOD_SECONDS: QueryParam = query(
    "gracePeriodSeconds",
    ParamType::Integer,
    "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.",
);
const ORPHAN_DEPENDENTS: QueryParam = query(
    "orphanDependents",
    ParamType::Boolean,
    "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.",
);
const PROPAGATION_POLICY: QueryParam = query(
    "propagationPolicy",
    ParamType::String,
    "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
);

/// Query parameters per action, as kube-apiserver derives them from the
/// option types (ListOptions, CreateOptions, UpdateOptions, PatchOptions,
/// DeleteOptions); sorted by name like Kubernetes'.
const LIST_PARAMS: &[QueryParam] = &[
    ALLOW_WATCH_BOOKMARKS,
    CONTINUE,
    FIELD_SELECTOR,
    LABEL_SELECTOR,
    LIMIT,
    RESOURCE_VERSION,
    RESOURCE_VERSION_MATCH,
    SEND_INITIAL_EVENTS,
    TIMEOUT_SECONDS,
    WATCH,
];
const WRITE_PARAMS: &[QueryParam] = &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
const PATCH_PARAMS: &[QueryParam] = &[DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE];
const DELETE_PARAMS: &[QueryParam] = &[
    DRY_RUN,
    GRACE_PERIOD_SECONDS,
    ORPHAN_DEPENDENTS,
    PROPAGATION_POLICY,
];
const DELETECOLLECTION_PARAMS: &[QueryParam] = &[
    CONTINUE,
    DRY_RUN,
    FIELD_SELECTOR,
    GRACE_PERIOD_SECONDS,
    LABEL_SELECTOR,
    LIMIT,
    ORPHAN_DEPENDENTS,
    PROPAGATION_POLICY,
    RESOURCE_VERSION,
    RESOURCE_VERSION_MATCH,
    SEND_INITIAL_EVENTS,
    TIMEOUT_SECONDS,
];

/// What the server answers in (it speaks no protobuf).
pub(super) const PRODUCES: &[&str] = &["application/json", "application/yaml"];
/// The same, for operations that can stream a watch.
pub(super) const PRODUCES_WATCH: &[&str] = &[
    "application/json",
    "application/json;stream=watch",
    "application/yaml",
];
/// Request bodies of create and replace (any the server decodes).
pub(super) const CONSUMES_ANY: &[&str] = &["*/*"];
/// PATCH bodies of built-in kinds.
pub(super) const PATCH_TYPES_BUILTIN: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];
/// PATCH bodies of custom resources: no strategic merge patch, as in
/// Kubernetes (kubectl apply then computes a JSON merge patch).
pub(super) const PATCH_TYPES_CUSTOM: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
];

/// A request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Body {
    /// Component name of its schema.
    pub(super) schema: String,
    pub(super) consumes: &'static [&'static str],
    pub(super) required: bool,
}

/// One operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Operation {
    pub(super) method: Method,
    /// `x-kubernetes-action`.
    pub(super) action: &'static str,
    pub(super) id: String,
    pub(super) description: String,
    pub(super) params: Vec<Param>,
    pub(super) body: Option<Body>,
    /// `(status code, description)`, each answering `response_schema`.
    pub(super) responses: &'static [(u16, &'static str)],
    /// Component name of the response schema.
    pub(super) response_schema: String,
    pub(super) produces: &'static [&'static str],
    /// `x-kubernetes-group-version-kind`, absent on discovery paths.
    pub(super) gvk: Option<Gvk>,
}

/// A path and its operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PathItem {
    pub(super) path: String,
    /// Parameters of every operation of the path (path parameters, `pretty`).
    pub(super) params: Vec<Param>,
    pub(super) operations: Vec<Operation>,
}

/// `/api/v1` or `/apis/{group}/{version}`.
pub(super) fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// The operation-id infix and the tag of a group-version, as
/// kube-apiserver's `GetOperationIDAndTags` makes them: `CoreV1` and
/// `core_v1`, `RbacAuthorizationV1` and `rbacAuthorization_v1`,
/// `IamKubesphereIoV1alpha2` and `iamKubesphereIo_v1alpha2`.
pub(super) fn id_and_tag(group: &str, version: &str) -> (String, String) {
    let group = if group.is_empty() {
        "core"
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group)
    };
    let camel: String = group.split(['.', '-']).map(capitalized).collect();
    let id = format!("{camel}{}", capitalized(version));
    let mut tag = String::with_capacity(camel.len() + version.len() + 1);
    let mut chars = camel.chars();
    if let Some(first) = chars.next() {
        tag.extend(first.to_lowercase());
    }
    tag.push_str(chars.as_str());
    tag.push('_');
    tag.push_str(version);
    (id, tag)
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `a ConfigMap`, `an Event` (kube-apiserver's `GetArticleForNoun`).
fn with_article(kind: &str) -> String {
    let article = if kind.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

fn path_param(name: &'static str, description: String) -> Param {
    Param {
        name,
        type_: ParamType::String,
        description,
        in_path: true,
    }
}

fn query_params(list: &[QueryParam]) -> Vec<Param> {
    list.iter()
        .map(|q| Param {
            name: q.name,
            type_: q.type_,
            description: q.description.to_owned(),
            in_path: false,
        })
        .collect()
}

/// `GET {prefix}/`: the group-version's resource list.
pub(super) fn discovery_path(group: &str, version: &str) -> PathItem {
    let (id, _) = id_and_tag(group, version);
    PathItem {
        path: format!("{}/", prefix(group, version)),
        params: Vec::new(),
        operations: vec![Operation {
            method: Method::Get,
            action: "get",
            id: format!("get{id}APIResources"),
            description: "get available resources".to_owned(),
            params: Vec::new(),
            body: None,
            responses: &[(200, "OK")],
            response_schema: components::API_RESOURCE_LIST.to_owned(),
            produces: PRODUCES,
            gvk: None,
        }],
    }
}

/// Every path of one resource.
pub(super) fn resource_paths(def: &ResourceDef, names: &Names) -> Vec<PathItem> {
    let builtin = def.strategy.strategic_merge().is_some();
    let gvk = Gvk::of(def);
    let kind = &def.kind;
    let (gv_id, _) = id_and_tag(&def.group, &def.version);
    let scope = if def.namespaced { "Namespaced" } else { "" };
    let prefix = prefix(&def.group, &def.version);
    let pretty = || query_params(&[PRETTY]);
    let namespace = || {
        path_param(
            "namespace",
            "object name and auth scope, such as for teams and projects".to_owned(),
        )
    };
    let name = || path_param("name", format!("name of the {kind}"));
    let op = |method, action, id: String, description: String, params: &[QueryParam]| Operation {
        method,
        action,
        id,
        description,
        params: query_params(params),
        body: None,
        responses: &[(200, "OK")],
        response_schema: names.kind.clone(),
        produces: PRODUCES,
        gvk: Some(gvk.clone()),
    };
    let kind_body = || {
        Some(Body {
            schema: names.kind.clone(),
            consumes: CONSUMES_ANY,
            required: true,
        })
    };
    let list = |id: String| Operation {
        response_schema: names.list.clone(),
        produces: PRODUCES_WATCH,
        ..op(
            Method::Get,
            "list",
            id,
            format!("list or watch objects of kind {kind}"),
            LIST_PARAMS,
        )
    };

    let mut items = Vec::new();
    let (collection, mut collection_params) = if def.namespaced {
        items.push(PathItem {
            path: format!("{prefix}/{}", def.plural),
            params: pretty(),
            operations: vec![list(format!("list{gv_id}{kind}ForAllNamespaces"))],
        });
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", def.plural),
            vec![namespace()],
        )
    } else {
        (format!("{prefix}/{}", def.plural), Vec::new())
    };
    collection_params.extend(pretty());
    items.push(PathItem {
        path: collection.clone(),
        params: collection_params.clone(),
        operations: vec![
            Operation {
                body: Some(Body {
                    schema: components::DELETE_OPTIONS.to_owned(),
                    consumes: CONSUMES_ANY,
                    required: false,
                }),
                response_schema: components::STATUS.to_owned(),
                ..op(
                    Method::Delete,
                    "deletecollection",
                    format!("delete{gv_id}Collection{scope}{kind}"),
                    format!("delete collection of {kind}"),
                    DELETECOLLECTION_PARAMS,
                )
            },
            list(format!("list{gv_id}{scope}{kind}")),
            Operation {
                body: kind_body(),
                responses: &[(200, "OK"), (201, "Created"), (202, "Accepted")],
                ..op(
                    Method::Post,
                    "post",
                    format!("create{gv_id}{scope}{kind}"),
                    format!("create {}", with_article(kind)),
                    WRITE_PARAMS,
                )
            },
        ],
    });

    let patch_types = if builtin {
        PATCH_TYPES_BUILTIN
    } else {
        PATCH_TYPES_CUSTOM
    };
    let object_ops = |suffix: &str, sub: &str| {
        let of = if sub.is_empty() {
            String::new()
        } else {
            format!(" {sub} of")
        };
        vec![
            op(
                Method::Get,
                "get",
                format!("read{gv_id}{scope}{kind}{suffix}"),
                format!("read{of} the specified {kind}"),
                &[],
            ),
            Operation {
                body: Some(Body {
                    schema: components::PATCH.to_owned(),
                    consumes: patch_types,
                    required: true,
                }),
                responses: &[(200, "OK"), (201, "Created")],
                ..op(
                    Method::Patch,
                    "patch",
                    format!("patch{gv_id}{scope}{kind}{suffix}"),
                    format!("partially update{of} the specified {kind}"),
                    PATCH_PARAMS,
                )
            },
            Operation {
                body: kind_body(),
                responses: &[(200, "OK"), (201, "Created")],
                ..op(
                    Method::Put,
                    "put",
                    format!("replace{gv_id}{scope}{kind}{suffix}"),
                    format!("replace{of} the specified {kind}"),
                    WRITE_PARAMS,
                )
            },
        ]
    };
    let mut object_params = vec![name()];
    object_params.extend(collection_params.iter().cloned());
    let mut operations = object_ops("", "");
    operations.insert(
        1,
        Operation {
            body: Some(Body {
                schema: components::DELETE_OPTIONS.to_owned(),
                consumes: CONSUMES_ANY,
                required: false,
            }),
            responses: &[(200, "OK"), (202, "Accepted")],
            response_schema: components::STATUS.to_owned(),
            ..op(
                Method::Delete,
                "delete",
                format!("delete{gv_id}{scope}{kind}"),
                format!("delete {}", with_article(kind)),
                DELETE_PARAMS,
            )
        },
    );
    items.push(PathItem {
        path: format!("{collection}/{{name}}"),
        params: object_params.clone(),
        operations,
    });
    if def.status {
        items.push(PathItem {
            path: format!("{collection}/{{name}}/status"),
            params: object_params,
            operations: object_ops("Status", "status"),
        });
    }

    // kube-apiserver still publishes the deprecated watch paths of its own
    // kinds (apiextensions-apiserver does not for custom resources).
    if builtin {
        let watch = |action, id: String, description: String| Operation {
            response_schema: components::WATCH_EVENT.to_owned(),
            produces: PRODUCES_WATCH,
            ..op(Method::Get, action, id, description, LIST_PARAMS)
        };
        let list_description = format!(
            "watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."
        );
        if def.namespaced {
            items.push(PathItem {
                path: format!("{prefix}/watch/{}", def.plural),
                params: pretty(),
                operations: vec![watch(
                    "watchlist",
                    format!("watch{gv_id}{kind}ListForAllNamespaces"),
                    list_description.clone(),
                )],
            });
        }
        let watch_collection = collection.replacen(&prefix, &format!("{prefix}/watch"), 1);
        items.push(PathItem {
            path: watch_collection.clone(),
            params: collection_params,
            operations: vec![watch(
                "watchlist",
                format!("watch{gv_id}{scope}{kind}List"),
                list_description,
            )],
        });
        let mut params = vec![name()];
        if def.namespaced {
            params.push(namespace());
        }
        params.extend(pretty());
        items.push(PathItem {
            path: format!("{watch_collection}/{{name}}"),
            params,
            operations: vec![watch(
                "watch",
                format!("watch{gv_id}{scope}{kind}"),
                format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."),
            )],
        });
    }
    items
}
