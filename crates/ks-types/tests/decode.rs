//! Decoding: tolerant and strict modes, error paths, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ks_types::decode::{self, Mode};
use ks_types::error::Format;
use ks_types::{Cluster, Error, GlobalRole, User, WorkspaceTemplate};

fn decode_error<K>(input: &[u8], format: Format) -> (String, String)
where
    K: serde::de::DeserializeOwned + ks_types::KindInfo + std::fmt::Debug,
{
    match decode::decode::<K>(input, format, Mode::Tolerant) {
        Err(Error::Decode { path, message, .. }) => (path, message),
        other => panic!(
            "expected a decode error for {:?}, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

#[test]
fn unknown_fields_are_ignored_by_default_and_named_in_strict_mode() {
    let json = br#"{
        "apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRole",
        "metadata": {"name": "r", "labelz": {}},
        "rules": [{"verbs": ["get"], "apiGroups": [""], "resourcez": ["pods"]}],
        "aggregationRule": {}
    }"#;
    let role: GlobalRole = decode::from_json(json).unwrap();
    assert_eq!(role.rules.len(), 1);
    match decode::from_json_strict::<GlobalRole>(json) {
        Err(Error::UnknownFields { kind, paths }) => {
            assert_eq!(kind, "GlobalRole");
            assert_eq!(
                paths,
                ["metadata.labelz", "rules[0].resourcez", "aggregationRule"]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn strict_yaml_names_nested_unknown_fields() {
    let yaml = b"spec:\n  template:\n    spec: {manager: admin, quota: 3}\n  placement:\n    clusters:\n    - name: host\n      weight: 1\n";
    match decode::from_yaml_strict::<WorkspaceTemplate>(yaml) {
        Err(Error::UnknownFields { paths, .. }) => {
            assert_eq!(
                paths,
                [
                    "spec.template.spec.quota",
                    "spec.placement.clusters[0].weight"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_name_the_field_path() {
    // Table: input, format, expected path, expected message fragment.
    let cases: &[(&[u8], Format, &str, &str)] = &[
        (
            br#"{"spec":{"email":3}}"#,
            Format::Json,
            "spec.email",
            "invalid type: integer",
        ),
        (
            br#"{"spec":{}}"#,
            Format::Json,
            "spec.email",
            "missing field `email`",
        ),
        (
            br#"{"metadata":{"name":"x"}}"#,
            Format::Json,
            "spec",
            "missing field `spec`",
        ),
        (
            br#"{"spec":{"email":"","groups":["a",1]}}"#,
            Format::Json,
            "spec.groups[1]",
            "invalid type",
        ),
        (
            br#"{"spec":{"email":""},"status":{"lastLoginTime":"yesterday"}}"#,
            Format::Json,
            "status.lastLoginTime",
            "",
        ),
        (
            b"spec:\n  email: a@b\n  lang: [zh]\n",
            Format::Yaml,
            "spec.lang",
            "invalid type: sequence",
        ),
        (
            b"kind: User\nmetadata: {name: 3}\n",
            Format::Yaml,
            "spec",
            "missing field",
        ),
        (
            b"metadata:\n  labels: [a]\nspec: {email: ''}\n",
            Format::Yaml,
            "metadata.labels",
            "invalid type",
        ),
        (b"[1, 2]", Format::Yaml, "", "invalid type: sequence"),
        (
            b"{\"spec\": {\"email\": \"\"}} trailing",
            Format::Json,
            "",
            "trailing characters",
        ),
    ];
    for (input, format, path, fragment) in cases {
        let (got_path, message) = decode_error::<User>(input, *format);
        assert_eq!(
            &got_path,
            path,
            "input {:?}: {message}",
            String::from_utf8_lossy(input)
        );
        assert!(
            message.contains(fragment),
            "input {:?}: {message}",
            String::from_utf8_lossy(input)
        );
    }
    let (path, _) = decode_error::<Cluster>(
        b"spec:\n  connection:\n    kubesphereAPIServerPort: 70000\n",
        Format::Yaml,
    );
    assert_eq!(path, "spec.connection.kubesphereAPIServerPort");
    let (path, _) = decode_error::<Cluster>(
        br#"{"spec":{"connection":{"kubeconfig":"not base64!"}}}"#,
        Format::Json,
    );
    assert_eq!(path, "spec.connection.kubeconfig");
}

#[test]
fn error_messages_carry_kind_path_and_location() {
    let err = decode::from_json::<User>(b"{\n  \"spec\": {\"email\": 3}\n}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "JSON decode of User failed at spec.email: invalid type: integer `3`, expected a string (line 2, column 21)"
    );
}

#[test]
fn nulls_and_empty_yaml_values_read_as_go_zero_values() {
    let user: User =
        decode::from_yaml_strict(b"spec:\n  email:\n  lang:\n  groups:\nstatus:\n").unwrap();
    assert_eq!(user.spec.email, "");
    assert!(user.spec.groups.is_empty());
    let user: User =
        decode::from_json_strict(br#"{"spec":{"email":null,"description":null},"status":null}"#)
            .unwrap();
    assert_eq!(user.spec.description, "");
}

#[test]
fn yaml_must_hold_exactly_one_document() {
    let two = b"spec: {email: ''}\n---\nspec: {email: ''}\n";
    assert!(matches!(
        decode::from_yaml::<User>(two),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn odd_inputs_fail_cleanly() {
    let inputs: &[&[u8]] = &[
        b"",
        b"null",
        b"\xff\xfe\x00",
        b"{",
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        b"a: &a [*a, *a]\nb: *a\n",
        b"!!binary AAAA",
        b"spec: !!map {email: ''}\n",
        b"{\"spec\":{\"email\":\"\"},\"spec\":{\"email\":\"\"}}",
    ];
    for input in inputs {
        for format in [Format::Json, Format::Yaml] {
            for mode in [Mode::Tolerant, Mode::Strict] {
                // Must return, not panic; most are errors.
                let _ = decode::decode::<User>(input, format, mode);
            }
        }
        ks_types::fuzzing::decode_all(input);
    }
    let deep = "[".repeat(10_000);
    assert!(decode::from_json::<User>(deep.as_bytes()).is_err());
    assert!(decode::from_yaml::<User>(deep.as_bytes()).is_err());
}
