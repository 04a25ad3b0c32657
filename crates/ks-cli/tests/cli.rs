//! The `ks` binary, end to end: the `request-info` and `auth can-i`
//! contracts of `docs/cli-contract.md` (output shape, exit statuses, batch
//! order), the two piped together, and `crd print`.

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

const FIELDS: [&str; 19] = [
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
    "selectorError",
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
    assert!(v["selectorError"].is_null());
}

#[test]
fn non_resource_verb_is_the_lowercase_method() {
    let out = ks(&["request-info", "/healthz"], "");
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert_eq!(v["verb"], "get");
    assert_eq!(v["isResourceRequest"], false);
    assert_eq!(v["resourceScope"], "");

    let out = ks(&["request-info", "-X", "POST", "/oauth/token"], "");
    assert_eq!(json_lines(&out)[0]["verb"], "post");

    let input =
        "GET /healthz\nHEAD /version\nM-SEARCH /\nPUT /api/v1/namespaces/a/pods/p\nPOST /api\n";
    let out = ks(&["request-info", "--batch"], input);
    let verbs: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["verb"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(verbs, ["get", "head", "m-search", "update", "post"]);
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

    // A parse error keeps what was known, with the lowercased method as
    // the verb.
    let out = ks(&["request-info", "-X", "DELETE", "/api/v1/watch"], "");
    assert_eq!(out.status.code(), Some(1));
    let v = &json_lines(&out)[0];
    assert_eq!(v["verb"], "delete");
    assert_eq!(v["apiVersion"], "v1");
    assert!(v["selectorError"].is_null());

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

/// A bad selector is not a parse error: Kubernetes resolves the request
/// (the list handler answers 400 later), so `error` stays null, the exit
/// status is 0 and `selectorError` holds Kubernetes' message.
#[test]
fn selector_errors_are_reported_apart() {
    let out = ks(&["request-info", "/api/v1/pods?fieldSelector=x"], "");
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert!(v["error"].is_null());
    assert_eq!(
        v["selectorError"],
        "invalid selector: 'x'; can't understand 'x'"
    );
    assert_eq!(v["verb"], "list");
    assert_eq!(v["resource"], "pods");
    assert_eq!(v["fieldSelector"], "x");
    assert_eq!(v["resourceScope"], "Cluster");

    let input = "GET /api/v1/namespaces/a/pods?watch=1&labelSelector=a%20b\n\
                 DELETE /api/v1/namespaces/a/pods?labelSelector=x+in+(a\n\
                 GET /api/v1/namespaces/a/pods?labelSelector=app%3Dweb\n\
                 GET /api/v1/namespaces/a/pods/p?labelSelector=(\n";
    let out = ks(&["request-info", "--batch"], input);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    for line in &lines {
        assert!(line["error"].is_null(), "{line}");
        assert_eq!(line.as_object().unwrap().len(), FIELDS.len());
    }
    assert_eq!(lines[0]["verb"], "watch");
    assert_eq!(lines[0]["labelSelector"], "a b");
    assert!(
        lines[0]["selectorError"]
            .as_str()
            .unwrap()
            .starts_with("unable to parse requirement")
    );
    assert_eq!(lines[1]["verb"], "deletecollection");
    assert!(lines[1]["selectorError"].is_string());
    assert!(lines[2]["selectorError"].is_null());
    // A named get exposes no selector, so there is nothing to report.
    assert_eq!(lines[3]["verb"], "get");
    assert_eq!(lines[3]["labelSelector"], "");
    assert!(lines[3]["selectorError"].is_null());
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

fn non_resource_policy_dir() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/non-resource-policy"
    )
    .to_owned()
}

/// `ks request-info` output is an attributes line once a user is added: its
/// lowercase non-resource verb matches a `nonResourceURLs` rule.
#[test]
fn request_info_feeds_auth_can_i_batch() {
    let requests = "GET /healthz\n\
                    POST /healthz/ready\n\
                    GET /healthz/live/deep\n\
                    PUT /healthz\n\
                    HEAD /healthz\n\
                    GET /healthzz\n\
                    GET /version\n";
    let out = ks(&["request-info", "--batch"], requests);
    assert_eq!(out.status.code(), Some(0));
    let mut attributes = String::new();
    for mut line in json_lines(&out) {
        line["user"] = "prober".into();
        attributes.push_str(&line.to_string());
        attributes.push('\n');
    }
    let out = ks(
        &[
            "auth",
            "can-i",
            "--batch",
            "--policy",
            &non_resource_policy_dir(),
        ],
        &attributes,
    );
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    let allowed: Vec<bool> = lines
        .iter()
        .map(|l| l["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, true, true, false, false, false, false]);
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains(r#"ClusterRoleBinding "health-prober""#),
        "{}",
        lines[0]
    );
}

/// The single form takes the verb as given; matching is case-sensitive, as
/// `kubectl auth can-i` against Kubernetes' RBAC.
#[test]
fn auth_can_i_non_resource_urls() {
    let dir = non_resource_policy_dir();
    let ask = |verb: &str, url: &str| {
        let out = ks(
            &[
                "auth", "can-i", verb, url, "--as", "prober", "--policy", &dir,
            ],
            "",
        );
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        )
    };
    assert_eq!(ask("get", "/healthz"), (Some(0), "yes".to_owned()));
    assert_eq!(ask("post", "/healthz/ready"), (Some(0), "yes".to_owned()));
    assert_eq!(ask("put", "/healthz"), (Some(1), "no".to_owned()));
    assert_eq!(ask("GET", "/healthz"), (Some(1), "no".to_owned()));
    assert_eq!(ask("get", "/healthzz"), (Some(1), "no".to_owned()));
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
