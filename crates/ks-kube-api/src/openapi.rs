//! OpenAPI documents built from the registry: v3 per group-version (with
//! the `/openapi/v3` index) and v2 (JSON and protobuf), shaped like
//! kube-apiserver's so that kubectl works against them unchanged.
//!
//! # What kubectl reads (1.27 to 1.33)
//!
//! Every v3 request goes through client-go's `openapi.Client`:
//! `GET /openapi/v3` (decoded as kube-openapi's `OpenAPIV3Discovery`:
//! `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=…"}}}`),
//! then the `serverRelativeURL` of the group-version it needs, with
//! `Accept: application/json`. The key is `api/{version}` for the core group
//! and `apis/{group}/{version}` otherwise. URLs under `/openapi/v3` keep the
//! `hash` query parameter; kubectl's disk cache treats a hashed URL as
//! immutable, so the hash must change whenever the document does: it is a
//! hash of the document's bytes.
//!
//! - `kubectl explain RESOURCE[.FIELD…]` (the default `plaintext` output,
//!   `kubectl/pkg/explain/v2/templates/plaintext.tmpl`): finds the kind by
//!   looking up, in `paths`, `{prefix}/{resource}`, `{prefix}/{resource}/{name}`,
//!   `{prefix}/namespaces/{namespace}/{resource}` and `…/{name}`, and reading
//!   the `x-kubernetes-group-version-kind` object (`{group, kind, version}`,
//!   `group` present even when empty) of their `get`/`post`/`put`/`patch`/
//!   `delete` operations. It then takes the entry of `components.schemas`
//!   whose `x-kubernetes-group-version-kind` *list* contains an object equal
//!   to it (the same three keys, nothing else) and walks `properties`,
//!   `items`, `additionalProperties` and single-element `allOf`, resolving
//!   `$ref`s of the form `#/components/schemas/NAME` inside the same
//!   document. A field that is a `$ref` to an object schema is shown as
//!   `<NAME's last dot-separated part>` (`<ObjectMeta>`); `required` marks
//!   fields `-required-`.
//! - `kubectl create`/`apply`/`replace` with `--validate=strict` (the
//!   default) or `warn` (`cli-runtime/pkg/resource/query_param_verifier_v3.go`):
//!   for the object's group-version-kind, scans the `paths` of its
//!   group-version document for `patch` operations; the first whose
//!   `x-kubernetes-group-version-kind` matches decides: the server supports
//!   `fieldValidation` if that operation's own `parameters` (not the path's,
//!   and not a `$ref`) include one named `fieldValidation`. So every `patch`
//!   operation of a kind, status subresource included, carries it. Then
//!   kubectl sends `?fieldValidation=Strict` and skips client-side
//!   validation, which would download `/openapi/v2` as protobuf. (When a
//!   group-version has no document, kubectl checks the CRD exists and asks
//!   Namespace's `patch` operation instead.)
//! - `kubectl apply` on an existing object (client-side apply,
//!   `kubectl/pkg/cmd/apply/patcher.go`): looks for the `patch` operation of
//!   the kind; if its `requestBody.content` has
//!   `application/strategic-merge-patch+json` (built-in kinds here, as in
//!   Kubernetes), it computes a strategic merge patch from the component
//!   schema whose `x-kubernetes-group-version-kind` list matches, reading
//!   `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key` of each
//!   field and following `properties`, `items`, `allOf[0]` and `$ref`. A
//!   field of the manifest missing from the schema fails that computation,
//!   so built-in schemas are complete (k8s-openapi's). Custom resources get a
//!   JSON merge patch (kubectl first asks `/openapi/v2` for their patch
//!   types, see below, and carries on without it).
//!
//! # Documents
//!
//! A group-version document has kube-apiserver's paths for each resource:
//! `/api/v1/namespaces/{namespace}/configmaps` (list, create,
//! deletecollection), `…/{name}` (read, replace, patch, delete),
//! `…/{name}/status` when the status subresource is served, the
//! cluster-scoped forms, `/api/v1/configmaps` (list across namespaces) and,
//! for built-in kinds, the deprecated `/watch/` forms. Operations carry
//! `operationId`, `tags`, `x-kubernetes-action` (`get`, `list`, `post`,
//! `put`, `patch`, `delete`, `deletecollection`, `watch`, `watchlist`, as
//! Kubernetes names them) and `x-kubernetes-group-version-kind`, inline query
//! parameters, request bodies and responses that `$ref` the kind's schema.
//!
//! Schemas are named like Kubernetes': built-in kinds by their Go package
//! (`io.k8s.api.core.v1.ConfigMap`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`,
//! as k8s-openapi names them), list kinds beside them
//! (`io.k8s.api.core.v1.ConfigMapList`), custom resources by the reversed
//! group, version and kind as apiextensions-apiserver does
//! (`iam.kubesphere.io/v1alpha2/User` becomes `io.kubesphere.iam.v1alpha2.User`).
//!
//! The v2 document holds every group-version in one Swagger 2.0 document
//! with `#/definitions/…` references, as JSON ([`v2`]) or as gnostic's
//! protobuf ([`v2_protobuf`]).
//!
//! # OpenAPI v2 and kubectl 1.27 and 1.28
//!
//! kubectl asks `GET /openapi/v2` for protobuf only (`Accept:
//! application/com.github.proto-openapi.spec.v2@v1.0+protobuf`); on 403,
//! 404 or 406 it tries `GET /swagger-2.0.0.pb-v1`. kubectl 1.27 and 1.28
//! load that document before `explain`, `apply` and `create` do anything
//! else and stop on failure ("the server could not find the requested
//! resource"), so they need [`v2_protobuf`] served there. The response's
//! `Content-Type` must be a media type Go's `mime` parses:
//! `application/com.github.proto-openapi.spec.v2.v1.0+protobuf` (no `@`)
//! as kube-apiserver answers; the `@` form fails every such command with
//! "mime: unexpected content after media subtype". From 1.29 on, kubectl
//! reads v2 only for `explain --output=plaintext-openapiv2`, for
//! client-side validation when v3 denies `fieldValidation`, and, in
//! `apply`, for kinds whose v3 `patch` lacks strategic merge patch (custom
//! resources: it then takes a JSON merge patch whatever v2 says).

mod components;
mod gnostic;
mod paths;
mod render;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

use crate::resources::RegistryView;

/// The OpenAPI v3 schema of a compiled-in kind, self-contained: shared
/// definitions are inlined, and a definition that contains itself (the
/// CRD's JSONSchemaProps) is cut at the second level to an object that
/// keeps unknown fields.
pub(crate) fn builtin_schema(group: &str, kind: &str) -> Option<Value> {
    components::builtins().inlined(group, kind).cloned()
}

/// `/openapi/v3`: the index of group-version documents, each URL carrying
/// a hash of its document.
pub(crate) fn v3_index(view: &RegistryView) -> Value {
    let mut paths = Map::new();
    for (group, versions) in view.groups() {
        for version in versions {
            let Some(doc) = v3_group_version(view, &group, &version) else {
                continue;
            };
            let key = render::v3_key(&group, &version);
            let url = format!("/openapi/v3/{key}?hash={}", render::document_hash(&doc));
            paths.insert(key, json!({ "serverRelativeURL": url }));
        }
    }
    render::object([("paths", Value::Object(paths))])
}

/// The hash in a group-version document's index URL: FNV-1a (64 bits, 16
/// upper-case hex digits) of its JSON encoding, the bytes
/// `serde_json::to_vec(doc)` gives. Like kube-apiserver, the server can
/// answer a request whose `hash` differs with a 301 to the current URL,
/// and one whose `hash` matches with `Cache-Control: public, immutable`.
pub(crate) fn document_hash(doc: &Value) -> String {
    render::document_hash(doc)
}

/// `/openapi/v3/apis/{group}/{version}` (or `/openapi/v3/api/v1` for the
/// core group): `None` when the registry serves nothing there.
pub(crate) fn v3_group_version(view: &RegistryView, group: &str, version: &str) -> Option<Value> {
    render::v3_document(view, group, version)
}

/// `/openapi/v2` as JSON: every group-version in one Swagger 2.0 document.
pub(crate) fn v2(view: &RegistryView) -> Value {
    render::v2_document(view)
}

/// The media type kubectl sends as the only `Accept` of `GET /openapi/v2`.
pub(crate) const V2_PROTOBUF_MEDIA_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The `Content-Type` to answer it with: the `Accept` form, with its `@`,
/// is not a media type Go's `mime` parses, and kubectl parses it.
pub(crate) const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `/openapi/v2` as protobuf (asked as [`V2_PROTOBUF_MEDIA_TYPE`], sent as
/// [`V2_PROTOBUF_CONTENT_TYPE`]): the [`v2`] document as gnostic's
/// `openapi.v2.Document`. kubectl 1.27 and 1.28 need it (see the module
/// docs); later versions rarely read it.
pub(crate) fn v2_protobuf(view: &RegistryView) -> Vec<u8> {
    gnostic::encode_document(&v2(view))
}
