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

fn policy_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/policy").to_owned()
}

#[test]
fn auth_can_i_answers_yes_and_no_with_exit_status() {
    let dir = policy_dir();
    let yes = ks(
        &[
            "auth", "can-i", "list", "pods", "-n", "demo", "--as", "alice", "--policy", &dir,
        ],
        "",
    );
    assert_eq!(yes.status.code(), Some(0));
    assert_eq!(String::from_utf8(yes.stdout).unwrap(), "yes\n");

    let no = ks(
        &[
            "auth", "can-i", "delete", "pods", "-n", "demo", "--as", "alice", "--policy", &dir,
        ],
        "",
    );
    assert_eq!(no.status.code(), Some(1));
    assert_eq!(String::from_utf8(no.stdout).unwrap(), "no\n");

    // A group grant from a List in a nested *.yml file, on a subresource.
    let logs = ks(
        &[
            "auth",
            "can-i",
            "get",
            "pods/log",
            "-n",
            "demo",
            "--as",
            "carol",
            "--as-group",
            "devs",
            "--policy",
            &dir,
            "--explain",
        ],
        "",
    );
    assert_eq!(logs.status.code(), Some(0));
    let text = String::from_utf8(logs.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("yes"));
    assert_eq!(
        lines.next(),
        Some(
            r#"RBAC: allowed by RoleBinding "devs-read-logs/demo" of Role "log-reader" to Group "devs""#
        )
    );
    assert!(lines.next().unwrap().starts_with("rule: {"));
    // The unknown kind is reported, and the rest still loads.
    assert!(
        String::from_utf8(logs.stderr)
            .unwrap()
            .contains("NotAnRbacKind")
    );
}

#[test]
fn auth_can_i_batch_answers_every_line() {
    let input = r#"{"user":"alice","verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true}
{"user":"alice","verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true,"resourceScope":"Cluster"}
not json
{"user":"carol","groups":["devs"],"verb":"get","resource":"pods","subresource":"log","namespace":"demo","isResourceRequest":true}
{"user":"alice","verb":"get","resource":"pods","isResourceRequest":true,"resourceScope":"Nowhere"}"#;
    let out = ks(
        &["auth", "can-i", "--batch", "--policy", &policy_dir()],
        input,
    );
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let allowed: Vec<bool> = lines
        .iter()
        .map(|l| l["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, false, false, true, false]);
    for line in &lines {
        assert!(line["reason"].is_string());
        assert_eq!(line.as_object().unwrap().len(), 2);
    }
}

#[test]
fn auth_can_i_batch_reads_extra() {
    // `extra` (Kubernetes' user.Info Extra) is carried but never matched,
    // even when its keys and values look like users and groups; a malformed
    // one is answered with an error line, like any other malformed field.
    let input = r#"{"user":"alice","extra":{"scopes":["x","y"],"none":[]},"verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true}
{"user":"alice","verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true}
{"user":"bob","extra":{"user":["alice"],"groups":["system:masters"]},"verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true}
{"user":"alice","extra":{"k":"notalist"},"verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true}
{"user":"alice","extra":["k"],"verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true}
{"user":"alice","extra":{},"verb":"get","resource":"pods","namespace":"demo","isResourceRequest":true}"#;
    let out = ks(
        &["auth", "can-i", "--batch", "--policy", &policy_dir()],
        input,
    );
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let allowed: Vec<bool> = lines
        .iter()
        .map(|l| l["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, true, false, false, false, true]);
    assert_eq!(lines[0]["reason"], lines[1]["reason"]);
    assert_eq!(lines[5]["reason"], lines[1]["reason"]);
    for (i, expected) in [(3, "expected a sequence"), (4, "expected a map")] {
        let reason = lines[i]["reason"].as_str().unwrap();
        assert!(reason.starts_with("invalid attributes: "), "{reason}");
        assert!(reason.contains(expected), "{reason}");
    }
}

#[test]
fn auth_can_i_usage_errors_exit_2() {
    for args in [
        &[
            "auth",
            "can-i",
            "get",
            "pods",
            "--policy",
            "/nonexistent/dir",
        ][..],
        &["auth", "can-i", "get", "pods"],
        &["auth", "can-i", "--batch", "get", "--policy", "/tmp"],
        &[
            "auth", "can-i", "get", "pods", "--scope", "Planet", "--policy", "/tmp",
        ],
    ] {
        let out = ks(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn auth_lint_gates_on_errors() {
    let bad = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lint-bad");
    let out = ks(&["auth", "lint", "--policy", bad], "");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("missing-role"), "{text}");
    assert!(text.contains("dangling"), "{text}");
    assert!(text.contains("wildcard"), "{text}");

    let good = ks(&["auth", "lint", "--policy", &policy_dir()], "");
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
}

#[test]
fn auth_who_can_lists_bindings_and_subjects() {
    let out = ks(
        &[
            "auth",
            "who-can",
            "get",
            "pods/log",
            "-n",
            "demo",
            "--policy",
            &policy_dir(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows[0], ["BINDING", "ROLE", "SUBJECT"]);
    assert!(rows.contains(&vec![
        "WorkspaceRoleBinding alice-ws1-viewer",
        "WorkspaceRole ws1-viewer",
        "User alice"
    ]));
    assert!(rows.contains(&vec![
        "RoleBinding demo/devs-read-logs",
        "Role log-reader",
        "Group devs"
    ]));
    assert_eq!(rows.len(), 3);

    // Nobody may delete pods there.
    let none = ks(
        &[
            "auth",
            "who-can",
            "delete",
            "pods",
            "-n",
            "demo",
            "--policy",
            &policy_dir(),
        ],
        "",
    );
    assert_eq!(String::from_utf8(none.stdout).unwrap().lines().count(), 1);
}

#[test]
fn auth_rules_lists_what_a_user_holds() {
    let out = ks(
        &[
            "auth",
            "rules",
            "--as",
            "carol",
            "--as-group",
            "devs",
            "-n",
            "demo",
            "--policy",
            &policy_dir(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Resources"), "{text}");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with("pods/log") && lines[1].ends_with("[get]"),
        "{text}"
    );

    // alice's workspace role does not apply at Cluster scope.
    let out = ks(
        &["auth", "rules", "--as", "alice", "--policy", &policy_dir()],
        "",
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
}
