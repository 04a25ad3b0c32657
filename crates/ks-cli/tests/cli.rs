//! The `ks` binary, end to end: the `request-info` contract from
//! `shared/DESIGN.md` (output shape, exit statuses, batch order) and
//! `crd print`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ks(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ks"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const FIELDS: [&str; 18] = [
    "isResourceRequest",
    "path",
    "verb",
    "apiPrefix",
    "apiGroup",
    "apiVersion",
    "namespace",
    "resource",
    "subresource",
    "name",
    "parts",
    "fieldSelector",
    "labelSelector",
    "workspace",
    "cluster",
    "resourceScope",
    "isKubernetesRequest",
    "error",
];

#[test]
fn single_form_prints_one_object_with_every_field() {
    let out = ks(
        &[
            "request-info",
            "-X",
            "DELETE",
            "/kapis/iam.kubesphere.io/v1beta1/workspaces/ws1/workspacemembers/bob",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let v = &lines[0];
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), FIELDS.len());
    for f in FIELDS {
        assert!(obj.contains_key(f), "missing {f}");
    }
    assert_eq!(v["verb"], "delete");
    assert_eq!(v["workspace"], "ws1");
    assert_eq!(v["name"], "bob");
    assert_eq!(v["resourceScope"], "Workspace");
    assert_eq!(v["isKubernetesRequest"], false);
    assert!(v["error"].is_null());
}

#[test]
fn default_method_is_get() {
    let out = ks(&["request-info", "/api/v1/pods"], "");
    assert_eq!(json_lines(&out)[0]["verb"], "list");
}

#[test]
fn parse_errors_exit_1_and_usage_errors_exit_2() {
    let out = ks(&["request-info", "/api/v1/namespaces//pods"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json_lines(&out)[0]["error"]
            .as_str()
            .unwrap()
            .contains("empty segment")
    );

    let out = ks(&["request-info", "/api/v1/pods?fieldSelector=x"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out)[0]["verb"], "list");

    for args in [
        &["request-info"][..],
        &["request-info", "--bogus", "/x"],
        &["request-info", "--batch", "/x"],
        &["request-info", "--global-resources", "nogroup", "/x"],
        &["request-info", "--api-prefixes", "a/b", "/x"],
    ] {
        let out = ks(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn options_change_the_parse() {
    let out = ks(
        &[
            "request-info",
            "--api-prefixes",
            "api,custom",
            "--groupless-prefixes",
            "custom",
            "--global-resources",
            "",
            "/custom/v1/users/u1",
        ],
        "",
    );
    let v = &json_lines(&out)[0];
    assert_eq!(v["apiPrefix"], "custom");
    assert_eq!(v["apiGroup"], "");
    assert_eq!(v["resourceScope"], "Cluster");

    let out = ks(
        &[
            "request-info",
            "--global-resources",
            "/nodes",
            "/api/v1/nodes/n1",
        ],
        "",
    );
    assert_eq!(json_lines(&out)[0]["resourceScope"], "Global");
}

#[test]
fn batch_answers_every_line_in_order() {
    let input = "GET /api/v1/namespaces/a/pods\n\
                 garbage\n\
                 \n\
                 POST /apis/apps/v1/namespaces/b/deployments\n\
                 GET /api/v1/watch\n\
                 GET /clusters/c1/api/v1/nodes";
    let out = ks(&["request-info", "--batch"], input);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["namespace"], "a");
    assert!(lines[1]["error"].is_string());
    assert!(lines[2]["error"].is_string());
    assert_eq!(lines[3]["verb"], "create");
    assert!(lines[4]["error"].is_string());
    assert_eq!(lines[5]["cluster"], "c1");
    assert_eq!(lines[5]["path"], "/api/v1/nodes");
    for line in &lines {
        assert_eq!(line.as_object().unwrap().len(), FIELDS.len());
    }
}

#[test]
fn crd_print() {
    let out = ks(&["crd", "print", "users", "WorkspaceTemplate"], "");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 2);
    assert!(text.contains("name: users.iam.kubesphere.io"));
    assert!(text.contains("name: workspacetemplates.tenant.kubesphere.io"));

    let all = ks(&["crd", "print"], "");
    let text = String::from_utf8(all.stdout).unwrap();
    assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 11);

    let bad = ks(&["crd", "print", "nope"], "");
    assert_eq!(bad.status.code(), Some(2));
}
