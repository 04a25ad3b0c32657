//! Table tests for the three patch kinds, and property tests against simple
//! models (a merge-patch diff, RFC 7386 itself) and arbitrary input.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{
    MAX_DEPTH, MAX_JSON_PATCH_OPERATIONS, PatchError, PatchKind, apply_patch, merge,
    strategic_schema,
};

/// One table row: a patch of `kind` applied to `original`, with the schema
/// of (group, kind) for strategic merge patches.
struct Case {
    name: &'static str,
    kind: PatchKind,
    schema: Option<(&'static str, &'static str)>,
    original: Value,
    patch: Value,
    /// The patched object, or the HTTP status of the error.
    expect: Result<Value, u16>,
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let schema = case
            .schema
            .map(|(group, kind)| strategic_schema(group, kind).unwrap());
        let body = serde_json::to_vec(&case.patch).unwrap();
        let got = apply_patch(case.kind, &case.original, &body, schema);
        let ok = match (&got, &case.expect) {
            (Ok(got), Ok(want)) => got == want,
            (Err(error), Err(status)) => error.http_status() == *status,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: got {:?}, want {:?}",
                case.name,
                got.map_err(|e| format!("{} {}: {e}", e.http_status(), e.reason())),
                case.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn json_case(
    name: &'static str,
    original: Value,
    patch: Value,
    expect: Result<Value, u16>,
) -> Case {
    Case {
        name,
        kind: PatchKind::Json,
        schema: None,
        original,
        patch,
        expect,
    }
}

fn merge_case(
    name: &'static str,
    original: Value,
    patch: Value,
    expect: Result<Value, u16>,
) -> Case {
    Case {
        name,
        kind: PatchKind::Merge,
        schema: None,
        original,
        patch,
        expect,
    }
}

fn smp_case(
    name: &'static str,
    schema: (&'static str, &'static str),
    original: Value,
    patch: Value,
    expect: Result<Value, u16>,
) -> Case {
    Case {
        name,
        kind: PatchKind::Strategic,
        schema: Some(schema),
        original,
        patch,
        expect,
    }
}

const CONFIG_MAP: (&str, &str) = ("", "ConfigMap");
const SERVICE_ACCOUNT: (&str, &str) = ("", "ServiceAccount");
const NAMESPACE: (&str, &str) = ("", "Namespace");
const ROLE: (&str, &str) = ("rbac.authorization.k8s.io", "Role");

#[test]
fn content_types() {
    let table = [
        ("application/json-patch+json", Some(PatchKind::Json)),
        ("application/merge-patch+json", Some(PatchKind::Merge)),
        (
            "application/strategic-merge-patch+json",
            Some(PatchKind::Strategic),
        ),
        ("application/apply-patch+yaml", Some(PatchKind::Apply)),
        (
            "application/merge-patch+json; charset=utf-8",
            Some(PatchKind::Merge),
        ),
        (
            "Application/JSON-Patch+JSON ;charset=UTF-8",
            Some(PatchKind::Json),
        ),
        ("application/json", None),
        ("application/apply-patch+cbor", None),
        ("", None),
        (";", None),
    ];
    for (content_type, want) in table {
        assert_eq!(
            PatchKind::from_content_type(content_type),
            want,
            "{content_type:?}"
        );
    }
    for kind in PatchKind::ALL {
        assert_eq!(
            PatchKind::from_content_type(kind.content_type()),
            Some(kind)
        );
    }
}

#[test]
fn schemas() {
    let known = [
        ("", "Namespace"),
        ("", "Secret"),
        ("", "ConfigMap"),
        ("", "ServiceAccount"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ];
    for (group, kind) in known {
        let schema = strategic_schema(group, kind).unwrap();
        assert_eq!((schema.group(), schema.kind()), (group, kind));
    }
    for (group, kind) in [
        ("example.com", "Widget"),
        ("iam.kubesphere.io", "User"),
        ("rbac.authorization.k8s.io", "ConfigMap"),
        ("", "Role"),
    ] {
        assert!(strategic_schema(group, kind).is_none(), "{group}/{kind}");
    }
}

#[test]
fn error_statuses() {
    let cm = json!({"kind": "ConfigMap"});
    let cases: [(Result<Value, PatchError>, u16, &str); 4] = [
        (
            apply_patch(PatchKind::Strategic, &cm, b"{}", None),
            415,
            "UnsupportedMediaType",
        ),
        (
            apply_patch(PatchKind::Apply, &cm, b"kind: ConfigMap", None),
            415,
            "UnsupportedMediaType",
        ),
        (
            apply_patch(PatchKind::Merge, &cm, b"{not json", None),
            400,
            "BadRequest",
        ),
        (
            apply_patch(
                PatchKind::Json,
                &cm,
                br#"[{"op": "remove", "path": "/missing"}]"#,
                None,
            ),
            422,
            "Invalid",
        ),
    ];
    for (result, status, reason) in cases {
        let error = result.unwrap_err();
        assert_eq!(
            (error.http_status(), error.reason()),
            (status, reason),
            "{error}"
        );
    }

    let too_many = Value::Array(vec![
        json!({"op": "test", "path": "/kind", "value": "ConfigMap"});
        MAX_JSON_PATCH_OPERATIONS + 1
    ]);
    let error = apply_patch(
        PatchKind::Json,
        &cm,
        &serde_json::to_vec(&too_many).unwrap(),
        None,
    )
    .unwrap_err();
    assert!(matches!(error, PatchError::TooManyOperations { .. }));
    assert_eq!(
        (error.http_status(), error.reason()),
        (413, "RequestEntityTooLarge")
    );

    let huge = vec![b' '; super::MAX_PATCH_BYTES + 1];
    let error = apply_patch(PatchKind::Merge, &cm, &huge, None).unwrap_err();
    assert_eq!(error.http_status(), 413);

    // Messages name the place.
    let error = apply_patch(
        PatchKind::Strategic,
        &json!({}),
        br#"{"metadata": {"ownerReferences": [{"name": "x"}]}}"#,
        strategic_schema("", "Secret"),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed strategic merge patch at metadata.ownerReferences[0]: \
         list item has no merge key \"uid\""
    );
}

/// RFC 7386 appendix A, through the merge algorithm itself (which accepts any
/// JSON value, as the RFC does).
#[test]
fn rfc7386_appendix_a() {
    let table = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (json!({"a": "foo"}), json!("bar"), json!("bar")),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (target, patch, want) in table {
        let mut got = target.clone();
        merge::merge_into(&mut got, patch.clone());
        assert_eq!(got, want, "{target} + {patch}");
    }
}

/// The same examples through `apply_patch`, where Kubernetes' rules apply:
/// the result must be an object, and a patch must be an object (400) or an
/// array (which becomes the non-object result, 422).
#[test]
fn merge_patch() {
    run(vec![
        merge_case(
            "A.1",
            json!({"a": "b"}),
            json!({"a": "c"}),
            Ok(json!({"a": "c"})),
        ),
        merge_case(
            "A.2",
            json!({"a": "b"}),
            json!({"b": "c"}),
            Ok(json!({"a": "b", "b": "c"})),
        ),
        merge_case("A.3", json!({"a": "b"}), json!({"a": null}), Ok(json!({}))),
        merge_case(
            "A.7",
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            Ok(json!({"a": {"b": "d"}})),
        ),
        merge_case(
            "A.9 array on array",
            json!(["a", "b"]),
            json!(["c", "d"]),
            Err(422),
        ),
        merge_case(
            "A.10 array patch",
            json!({"a": "b"}),
            json!(["c"]),
            Err(422),
        ),
        merge_case(
            "A.11 null patch",
            json!({"a": "foo"}),
            json!(null),
            Err(400),
        ),
        merge_case(
            "A.12 string patch",
            json!({"a": "foo"}),
            json!("bar"),
            Err(400),
        ),
        merge_case("number patch", json!({"a": "foo"}), json!(1), Err(400)),
        merge_case(
            "A.14 array target",
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            Ok(json!({"a": "b"})),
        ),
        merge_case(
            "A.15",
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            Ok(json!({"a": {"bb": {}}})),
        ),
        merge_case(
            "lists replace, directives are plain keys",
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["c"], "$patch": "x"}}),
            Ok(json!({"metadata": {"finalizers": ["c"], "$patch": "x"}})),
        ),
    ]);
}

/// RFC 6902 appendix A, through json-patch and Kubernetes' status mapping.
#[test]
fn json_patch_rfc6902_appendix_a() {
    run(vec![
        json_case(
            "A.1 adding an object member",
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz", "value": "qux"}]),
            Ok(json!({"baz": "qux", "foo": "bar"})),
        ),
        json_case(
            "A.2 adding an array element",
            json!({"foo": ["bar", "baz"]}),
            json!([{"op": "add", "path": "/foo/1", "value": "qux"}]),
            Ok(json!({"foo": ["bar", "qux", "baz"]})),
        ),
        json_case(
            "A.3 removing an object member",
            json!({"baz": "qux", "foo": "bar"}),
            json!([{"op": "remove", "path": "/baz"}]),
            Ok(json!({"foo": "bar"})),
        ),
        json_case(
            "A.4 removing an array element",
            json!({"foo": ["bar", "qux", "baz"]}),
            json!([{"op": "remove", "path": "/foo/1"}]),
            Ok(json!({"foo": ["bar", "baz"]})),
        ),
        json_case(
            "A.5 replacing a value",
            json!({"baz": "qux", "foo": "bar"}),
            json!([{"op": "replace", "path": "/baz", "value": "boo"}]),
            Ok(json!({"baz": "boo", "foo": "bar"})),
        ),
        json_case(
            "A.6 moving a value",
            json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
            json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
            Ok(json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}})),
        ),
        json_case(
            "A.7 moving an array element",
            json!({"foo": ["all", "grass", "cows", "eat"]}),
            json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
            Ok(json!({"foo": ["all", "cows", "eat", "grass"]})),
        ),
        json_case(
            "A.8 testing a value: success",
            json!({"baz": "qux", "foo": ["a", 2, "c"]}),
            json!([
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2}
            ]),
            Ok(json!({"baz": "qux", "foo": ["a", 2, "c"]})),
        ),
        json_case(
            "A.9 testing a value: error",
            json!({"baz": "qux"}),
            json!([{"op": "test", "path": "/baz", "value": "bar"}]),
            Err(422),
        ),
        json_case(
            "A.10 adding a nested member object",
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]),
            Ok(json!({"foo": "bar", "child": {"grandchild": {}}})),
        ),
        json_case(
            "A.11 ignoring unrecognized elements",
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]),
            Ok(json!({"foo": "bar", "baz": "qux"})),
        ),
        json_case(
            "A.12 adding to a nonexistent target",
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
            Err(422),
        ),
        json_case(
            "A.14 ~ escape ordering",
            json!({"/": 9, "~1": 10}),
            json!([{"op": "test", "path": "/~01", "value": 10}]),
            Ok(json!({"/": 9, "~1": 10})),
        ),
        json_case(
            "A.15 comparing strings and numbers",
            json!({"/": 9, "~1": 10}),
            json!([{"op": "test", "path": "/~01", "value": "10"}]),
            Err(422),
        ),
        json_case(
            "A.16 adding an array value",
            json!({"foo": ["bar"]}),
            json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]),
            Ok(json!({"foo": ["bar", ["abc", "def"]]})),
        ),
    ]);
}

/// A.13 has a duplicate "op" member, which no JSON value can hold, so it
/// goes in as text. As in Kubernetes, the last member wins and the patch
/// fails to apply.
#[test]
fn json_patch_rfc6902_a13_invalid_document() {
    let body = br#"[{ "op": "add", "path": "/baz", "value": "qux", "op": "remove" }]"#;
    let error = apply_patch(PatchKind::Json, &json!({"foo": "bar"}), body, None).unwrap_err();
    assert_eq!(error.http_status(), 422, "{error}");
}

#[test]
fn json_patch_kubernetes_rules() {
    let copy_doubling: Vec<Value> =
        std::iter::once(json!({"op": "add", "path": "/a", "value": vec!["x"; 1024]}))
            .chain((0..40).map(|_| json!({"op": "copy", "from": "/a", "path": "/a/0"})))
            .collect();
    // 9 nested objects, and a value of 120 nested arrays added below them:
    // both parse, but together they nest deeper than MAX_DEPTH.
    let nested = (0..9).fold(json!({}), |inner, _| json!({"a": inner}));
    let deep_path = format!("{}/b", "/a".repeat(9));
    let deep_value = (0..120).fold(json!(1), |inner, _| json!([inner]));
    const { assert!(9 + 1 + 120 > MAX_DEPTH) };
    run(vec![
        json_case("object body", json!({}), json!({"op": "add"}), Err(400)),
        json_case("string body", json!({}), json!("add"), Err(400)),
        json_case("operation not an object", json!({}), json!([1]), Err(400)),
        json_case(
            "unknown op",
            json!({}),
            json!([{"op": "frobnicate", "path": "/a"}]),
            Err(422),
        ),
        // A missing value tests as null (kube-runtime's finalizer helper
        // relies on it); a present one does not.
        json_case(
            "test null on a missing path",
            json!({"metadata": {}}),
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
            ]),
            Ok(json!({"metadata": {"finalizers": ["f"]}})),
        ),
        json_case(
            "test null on a present path",
            json!({"metadata": {"finalizers": ["g"]}}),
            json!([{"op": "test", "path": "/metadata/finalizers", "value": null}]),
            Err(422),
        ),
        json_case(
            "path without slash",
            json!({}),
            json!([{"op": "add", "path": "a", "value": 1}]),
            Err(422),
        ),
        json_case(
            "failed operation leaves nothing behind",
            json!({"a": 1}),
            json!([
                {"op": "add", "path": "/b", "value": 2},
                {"op": "remove", "path": "/c"}
            ]),
            Err(422),
        ),
        json_case(
            "root replaced by an array",
            json!({"a": 1}),
            json!([{"op": "replace", "path": "", "value": [1]}]),
            Err(422),
        ),
        json_case(
            "empty patch",
            json!({"a": 1}),
            json!([]),
            Ok(json!({"a": 1})),
        ),
        json_case(
            "copy within the budget",
            json!({"a": {"b": 1}}),
            json!([{"op": "copy", "from": "/a", "path": "/c"}]),
            Ok(json!({"a": {"b": 1}, "c": {"b": 1}})),
        ),
        json_case(
            "copies beyond the budget",
            json!({}),
            Value::Array(copy_doubling),
            Err(422),
        ),
        json_case(
            "too deep",
            nested,
            json!([{"op": "add", "path": deep_path, "value": deep_value}]),
            Err(422),
        ),
        json_case(
            "kubectl-style label patch",
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}}),
            json!([
                {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
                {"op": "add", "path": "/metadata/labels/b~1c", "value": "3"}
            ]),
            Ok(json!({"metadata": {"name": "x", "labels": {"a": "2", "b/c": "3"}}})),
        ),
    ]);
}

/// Bodies as deep as the parser allows recurse through every patch kind on
/// a test thread's small stack, and results stay readable.
#[test]
fn deepest_bodies_do_not_overflow() {
    let deepest_object = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!({"a": inner}));
    let original = deepest_object(MAX_DEPTH);
    let merge_body = serde_json::to_vec(&deepest_object(MAX_DEPTH)).unwrap();
    for (kind, schema) in [
        (PatchKind::Merge, None),
        (PatchKind::Strategic, strategic_schema("", "ConfigMap")),
    ] {
        let patched = apply_patch(kind, &original, &merge_body, schema).unwrap();
        assert_eq!(patched, original);
        let text = serde_json::to_string(&patched).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), original);
    }
    let deep_list = (0..MAX_DEPTH - 3).fold(json!(1), |inner, _| json!([inner]));
    let body = serde_json::to_vec(&json!({"metadata": {"finalizers": deep_list}})).unwrap();
    let error = apply_patch(
        PatchKind::Strategic,
        &json!({"metadata": {"finalizers": ["a"]}}),
        &body,
        strategic_schema("", "Secret"),
    )
    .unwrap_err();
    assert_eq!(error.http_status(), 422);
    let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    for kind in [PatchKind::Json, PatchKind::Merge, PatchKind::Strategic] {
        let error = apply_patch(
            kind,
            &json!({}),
            too_deep.as_bytes(),
            strategic_schema("", "Secret"),
        )
        .unwrap_err();
        assert!(
            matches!(error, PatchError::InvalidJson { .. }),
            "{kind}: {error}"
        );
    }
}

fn owner(uid: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid})
}

#[test]
fn strategic_merge_patch() {
    run(vec![
        smp_case(
            "ConfigMap data merges",
            CONFIG_MAP,
            json!({"kind": "ConfigMap", "data": {"a": "1", "b": "2"}}),
            json!({"data": {"b": "3", "c": "4"}}),
            Ok(json!({"kind": "ConfigMap", "data": {"a": "1", "b": "3", "c": "4"}})),
        ),
        smp_case(
            "null deletes a label",
            CONFIG_MAP,
            json!({"metadata": {"labels": {"app": "x", "tier": "web"}}}),
            json!({"metadata": {"labels": {"tier": null, "absent": null}}}),
            Ok(json!({"metadata": {"labels": {"app": "x"}}})),
        ),
        smp_case(
            "finalizers are a union",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b", "c", "c"]}}),
            Ok(json!({"metadata": {"finalizers": ["a", "b", "c"]}})),
        ),
        smp_case(
            "a new leading finalizer goes first, as in Kubernetes",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["c"]}}),
            Ok(json!({"metadata": {"finalizers": ["c", "a", "b"]}})),
        ),
        smp_case(
            "an empty list does not clear a merging list",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a"]}}),
            json!({"metadata": {"finalizers": []}}),
            Ok(json!({"metadata": {"finalizers": ["a"]}})),
        ),
        smp_case(
            "null clears a merging list",
            CONFIG_MAP,
            json!({"metadata": {"name": "x", "finalizers": ["a"]}}),
            json!({"metadata": {"finalizers": null}}),
            Ok(json!({"metadata": {"name": "x"}})),
        ),
        smp_case(
            "$deleteFromPrimitiveList/finalizers",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "z"]}}),
            Ok(json!({"metadata": {"finalizers": ["a", "c"]}})),
        ),
        smp_case(
            "replace one finalizer by another",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {
                "$deleteFromPrimitiveList/finalizers": ["a"],
                "finalizers": ["z"]
            }}),
            Ok(json!({"metadata": {"finalizers": ["z", "b"]}})),
        ),
        smp_case(
            "deleting from an absent list is a no-op",
            CONFIG_MAP,
            json!({"metadata": {"name": "x"}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            Ok(json!({"metadata": {"name": "x"}})),
        ),
        smp_case(
            "ownerReferences merge by uid",
            CONFIG_MAP,
            json!({"metadata": {"ownerReferences": [owner("1", "a"), owner("2", "b")]}}),
            json!({"metadata": {"ownerReferences": [
                {"uid": "2", "controller": true},
                owner("3", "c")
            ]}}),
            Ok(json!({"metadata": {"ownerReferences": [
                owner("1", "a"),
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "uid": "2", "controller": true},
                owner("3", "c")
            ]}})),
        ),
        smp_case(
            "$patch: delete removes one owner reference",
            CONFIG_MAP,
            json!({"metadata": {"ownerReferences": [owner("1", "a"), owner("2", "b")]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "1", "$patch": "delete"}]}}),
            Ok(json!({"metadata": {"ownerReferences": [owner("2", "b")]}})),
        ),
        smp_case(
            "$patch: replace in a list",
            CONFIG_MAP,
            json!({"metadata": {"ownerReferences": [owner("1", "a"), owner("2", "b")]}}),
            json!({"metadata": {"ownerReferences": [{"$patch": "replace"}, owner("3", "c")]}}),
            Ok(json!({"metadata": {"ownerReferences": [owner("3", "c")]}})),
        ),
        smp_case(
            "ServiceAccount secrets merge by name",
            SERVICE_ACCOUNT,
            json!({"secrets": [{"name": "token-a"}, {"name": "token-b"}],
                   "imagePullSecrets": [{"name": "pull-a"}]}),
            json!({"secrets": [{"name": "token-b", "namespace": "ns"}, {"name": "token-c"}],
                   "imagePullSecrets": [{"name": "pull-b"}]}),
            Ok(json!({"secrets": [
                        {"name": "token-a"},
                        {"name": "token-b", "namespace": "ns"},
                        {"name": "token-c"}],
                      "imagePullSecrets": [{"name": "pull-b"}]})),
        ),
        smp_case(
            "Role rules are replaced wholesale",
            ROLE,
            json!({"rules": [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}
            ]}),
            json!({"rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]}),
            Ok(json!({"rules": [
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}
            ]})),
        ),
        smp_case(
            "Namespace status conditions merge by type; spec finalizers replace",
            NAMESPACE,
            json!({"spec": {"finalizers": ["kubernetes"]},
                   "status": {"conditions": [
                       {"type": "A", "status": "True"},
                       {"type": "B", "status": "False"}]}}),
            json!({"spec": {"finalizers": ["other"]},
                   "status": {"conditions": [{"type": "B", "status": "True"}]}}),
            Ok(json!({"spec": {"finalizers": ["other"]},
                      "status": {"conditions": [
                          {"type": "A", "status": "True"},
                          {"type": "B", "status": "True"}]}})),
        ),
        smp_case(
            "$patch: replace on a map",
            CONFIG_MAP,
            json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}}),
            json!({"data": {"$patch": "replace", "c": "3", "d": null}}),
            Ok(json!({"metadata": {"name": "x"}, "data": {"c": "3"}})),
        ),
        smp_case(
            "$patch: delete on a map",
            CONFIG_MAP,
            json!({"metadata": {"name": "x"}, "data": {"a": "1"}}),
            json!({"data": {"$patch": "delete"}}),
            Ok(json!({"metadata": {"name": "x"}})),
        ),
        smp_case(
            "$patch: merge on a map is the default",
            CONFIG_MAP,
            json!({"data": {"a": "1"}}),
            json!({"data": {"$patch": "merge", "b": "2"}}),
            Ok(json!({"data": {"a": "1", "b": "2"}})),
        ),
        smp_case(
            "$patch: delete at the root leaves an empty object",
            CONFIG_MAP,
            json!({"data": {"a": "1"}}),
            json!({"$patch": "delete"}),
            Ok(json!({})),
        ),
        smp_case(
            "$retainKeys drops the fields not named",
            CONFIG_MAP,
            json!({"spec": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}, "keep": true}}),
            json!({"spec": {"$retainKeys": ["type", "keep"], "type": "RollingUpdate"}}),
            Ok(json!({"spec": {"type": "RollingUpdate", "keep": true}})),
        ),
        smp_case(
            "$retainKeys must name what the patch sets",
            CONFIG_MAP,
            json!({"spec": {"type": "Recreate"}}),
            json!({"spec": {"$retainKeys": ["type"], "other": 1}}),
            Err(400),
        ),
        smp_case(
            "kubectl apply with $setElementOrder",
            CONFIG_MAP,
            json!({"metadata": {
                "finalizers": ["a", "b", "c"],
                "ownerReferences": [owner("1", "a"), owner("2", "b"), owner("3", "c")]
            }}),
            json!({"metadata": {
                "$setElementOrder/finalizers": ["c", "d", "a"],
                "$deleteFromPrimitiveList/finalizers": ["b"],
                "finalizers": ["d"],
                "$setElementOrder/ownerReferences": [{"uid": "3"}, {"uid": "1"}, {"uid": "4"}],
                "ownerReferences": [
                    {"uid": "2", "$patch": "delete"},
                    {"uid": "1", "name": "renamed"},
                    owner("4", "d")
                ]
            }}),
            Ok(json!({"metadata": {
                "finalizers": ["c", "d", "a"],
                "ownerReferences": [
                    owner("3", "c"),
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "renamed", "uid": "1"},
                    owner("4", "d")
                ]
            }})),
        ),
        smp_case(
            "$setElementOrder alone reorders the live list",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            json!({"metadata": {"$setElementOrder/finalizers": ["c", "a", "b"]}}),
            Ok(json!({"metadata": {"finalizers": ["c", "a", "b"]}})),
        ),
        smp_case(
            "$setElementOrder is dropped for lists that do not merge",
            ROLE,
            json!({"rules": [{"verbs": ["get"]}]}),
            json!({"$setElementOrder/rules": [{"verbs": ["x"]}], "rules": [{"verbs": ["list"]}]}),
            Ok(json!({"rules": [{"verbs": ["list"]}]})),
        ),
        smp_case(
            "$setElementOrder must cover the patch list",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a"]}}),
            json!({"metadata": {"$setElementOrder/finalizers": ["a"], "finalizers": ["b"]}}),
            Err(400),
        ),
        smp_case(
            "new values are merged into nothing",
            CONFIG_MAP,
            json!({"kind": "ConfigMap"}),
            json!({"metadata": {
                "labels": {"a": "1", "b": null},
                "ownerReferences": [
                    owner("1", "a"),
                    {"uid": "2", "$patch": "delete"},
                    {"uid": "1", "controller": true}
                ]
            }}),
            Ok(json!({"kind": "ConfigMap", "metadata": {
                "labels": {"a": "1"},
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "1", "controller": true}
                ]
            }})),
        ),
        smp_case(
            "CRD schemas keep $ref",
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
            json!({"spec": {"versions": [{"name": "v1"}]}}),
            json!({"spec": {"x": {"$ref": "#/definitions/a"}}}),
            Ok(json!({"spec": {"versions": [{"name": "v1"}], "x": {"$ref": "#/definitions/a"}}})),
        ),
        smp_case(
            "null patch is a no-op, as Kubernetes decodes it",
            CONFIG_MAP,
            json!({"data": {"a": "1"}}),
            json!(null),
            Ok(json!({"data": {"a": "1"}})),
        ),
        smp_case(
            "array patch",
            CONFIG_MAP,
            json!({}),
            json!([{"a": 1}]),
            Err(400),
        ),
        smp_case(
            "unknown $patch value",
            CONFIG_MAP,
            json!({}),
            json!({"data": {"$patch": "explode"}}),
            Err(400),
        ),
        smp_case(
            "unknown directive",
            CONFIG_MAP,
            json!({}),
            json!({"$frobnicate": 1}),
            Err(400),
        ),
        smp_case(
            "directive without a field",
            CONFIG_MAP,
            json!({}),
            json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}}),
            Err(400),
        ),
        smp_case(
            "parallel list that is not a list",
            CONFIG_MAP,
            json!({}),
            json!({"metadata": {"$setElementOrder/finalizers": "a"}}),
            Err(400),
        ),
        smp_case(
            "delete item without its merge key",
            CONFIG_MAP,
            json!({"metadata": {"ownerReferences": [owner("1", "a")]}}),
            json!({"metadata": {"ownerReferences": [{"name": "a", "$patch": "delete"}]}}),
            Err(400),
        ),
        smp_case(
            "scalar item in a list merged by key",
            CONFIG_MAP,
            json!({}),
            json!({"metadata": {"ownerReferences": ["x"]}}),
            Err(400),
        ),
        smp_case(
            "live item without its merge key",
            CONFIG_MAP,
            json!({"metadata": {"ownerReferences": [{"name": "a"}]}}),
            json!({"metadata": {"ownerReferences": [owner("1", "b")]}}),
            Err(422),
        ),
        smp_case(
            "list of lists",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": ["a"]}}),
            json!({"metadata": {"finalizers": [["b"]]}}),
            Err(422),
        ),
        smp_case(
            "deleting from a field that is not a list",
            CONFIG_MAP,
            json!({"metadata": {"finalizers": "a"}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            Err(422),
        ),
    ]);
}

#[test]
fn merge_by_key_is_not_quadratic() {
    // 10,000 live owner references and a patch touching all of them plus
    // 10,000 new ones: hash lookups keep this linear (a pairwise scan would
    // compare 2 * 10^8 keys).
    let live: Vec<Value> = (0..10_000).map(|i| owner(&i.to_string(), "x")).collect();
    let patch: Vec<Value> = (0..20_000)
        .rev()
        .map(|i| json!({"uid": i.to_string(), "name": "y"}))
        .collect();
    let original = json!({"metadata": {"ownerReferences": live}});
    let body = serde_json::to_vec(&json!({"metadata": {"ownerReferences": patch}})).unwrap();
    let started = std::time::Instant::now();
    let patched = apply_patch(
        PatchKind::Strategic,
        &original,
        &body,
        strategic_schema("", "ConfigMap"),
    )
    .unwrap();
    let merged = patched["metadata"]["ownerReferences"].as_array().unwrap();
    assert_eq!(merged.len(), 20_000);
    assert_eq!(merged[0]["uid"], "19999");
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

// ---- property tests ----

/// Arbitrary JSON, with object members never null when `no_null_members`
/// (merge patches cannot produce null members).
fn json_value(no_null_members: bool) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3_i64..3).prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            object_of("[a-e]", inner, no_null_members),
        ]
    })
}

fn object_of(
    keys: &'static str,
    values: impl Strategy<Value = Value>,
    no_null_members: bool,
) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(keys, values, 0..5).prop_map(move |members| {
        Value::Object(
            members
                .into_iter()
                .filter(|(_, value)| !(no_null_members && value.is_null()))
                .collect(),
        )
    })
}

/// The RFC 7386 patch that turns `from` into `to` (which has no null
/// members).
fn merge_diff(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(from), Value::Object(to)) => {
            let mut patch = Map::new();
            for key in from.keys().filter(|key| !to.contains_key(*key)) {
                patch.insert(key.clone(), Value::Null);
            }
            for (key, to_value) in to {
                match from.get(key) {
                    Some(from_value) if from_value == to_value => {}
                    Some(from_value) => {
                        patch.insert(key.clone(), merge_diff(from_value, to_value));
                    }
                    None => {
                        patch.insert(key.clone(), to_value.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        _ => to.clone(),
    }
}

/// Arbitrary patch-like JSON for strategic merge: keys and strings drawn
/// from the directive vocabulary and the fields the schemas know.
fn directive_soup() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "$patch",
        "$retainKeys",
        "$setElementOrder/finalizers",
        "$setElementOrder/ownerReferences",
        "$setElementOrder/secrets",
        "$deleteFromPrimitiveList/finalizers",
        "$deleteFromPrimitiveList",
        "$ref",
        "metadata",
        "finalizers",
        "ownerReferences",
        "secrets",
        "uid",
        "name",
        "data",
        "delete",
        "replace",
        "merge",
        "a",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0_i64..3).prop_map(Value::from),
        words.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(words.clone(), inner, 0..5).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn root_object(value: Value) -> Value {
    match value {
        Value::Object(_) => value,
        other => json!({"metadata": other}),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A merge patch computed as the diff of two objects turns the first
    /// into the second.
    #[test]
    fn prop_merge_patch_of_diff_reaches_target(
        from in object_of("[a-e]", json_value(true), true),
        to in object_of("[a-e]", json_value(true), true),
    ) {
        let patch = merge_diff(&from, &to);
        let body = serde_json::to_vec(&patch).unwrap();
        let patched = apply_patch(PatchKind::Merge, &from, &body, None).unwrap();
        prop_assert_eq!(patched, to);
    }

    /// Without directives, and away from the fields the schema describes,
    /// strategic merge patch is merge patch.
    #[test]
    fn prop_strategic_without_directives_is_merge_patch(
        original in object_of("[a-e]", json_value(false), false),
        patch in object_of("[a-e]", json_value(false), false),
    ) {
        let body = serde_json::to_vec(&patch).unwrap();
        let merged = apply_patch(PatchKind::Merge, &original, &body, None).unwrap();
        let strategic = apply_patch(
            PatchKind::Strategic,
            &original,
            &body,
            strategic_schema("", "ConfigMap"),
        ).unwrap();
        prop_assert_eq!(strategic, merged);
    }

    /// No body makes any patch kind panic.
    #[test]
    fn prop_random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let original = json!({"metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1"}]}});
        for kind in PatchKind::ALL {
            for schema in [None, strategic_schema("", "ServiceAccount")] {
                let _ = apply_patch(kind, &original, &body, schema);
            }
        }
    }

    /// No combination of directives makes strategic merge patch panic, and
    /// every success is an object.
    #[test]
    fn prop_strategic_directives_never_panic(
        original in directive_soup(),
        patch in directive_soup(),
    ) {
        let original = root_object(original);
        let body = serde_json::to_vec(&patch).unwrap();
        for (group, kind) in [("", "ConfigMap"), ("", "ServiceAccount"), ("", "Namespace")] {
            if let Ok(patched) = apply_patch(PatchKind::Strategic, &original, &body, strategic_schema(group, kind)) {
                prop_assert!(patched.is_object());
            }
        }
    }

    /// Random JSON patch operations never panic.
    #[test]
    fn prop_json_patch_never_panics(
        original in object_of("[a-c]", json_value(false), false),
        ops in prop::collection::vec(
            (
                prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test", "bad"]),
                prop::sample::select(vec!["", "/a", "/b", "/a/0", "/a/-", "/a/b", "/c/1", "/a/a/a", "bad"]),
                prop::sample::select(vec!["", "/a", "/b", "/a/0", "/c"]),
                json_value(false),
            ),
            0..8,
        ),
    ) {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}))
            .collect();
        let body = serde_json::to_vec(&ops).unwrap();
        if let Ok(patched) = apply_patch(PatchKind::Json, &original, &body, None) {
            prop_assert!(patched.is_object());
        }
    }
}
