//! The OpenAPI document of /kapis: checked in as `docs/kapis-openapi.json`
//! and current, valid as far as cheaply checkable, served at
//! `/kapis/openapi/v3`, and every route of its table served.
//!
//! Regenerate the checked-in file after changing the table or a type:
//! `KS_BLESS=1 cargo test -p ks-apiserver --test kapis_openapi`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::TestServer;
use ks_apiserver::kapis::openapi::{self, ROUTES, Request, Shape};
use serde_json::Value;

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/kapis-openapi.json")
}

fn generated() -> String {
    openapi::document_json().unwrap()
}

#[test]
fn the_checked_in_document_is_current() {
    let generated = generated();
    let path = checked_in();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current == generated {
        return;
    }
    if std::env::var("KS_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let line = (current.lines().zip(generated.lines()))
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| current.lines().count().min(generated.lines().count()))
        + 1;
    panic!(
        "docs/kapis-openapi.json differs from the document the route table and the types \
         make (first at line {line}); regenerate it with \
         `KS_BLESS=1 cargo test -p ks-apiserver --test kapis_openapi` and review the diff"
    );
}

/// Every `$ref` in `value`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => found.push(r),
                    _ => references(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// A parameter, resolving a `$ref` to `components.parameters`.
fn resolve<'a>(doc: &'a Value, parameter: &'a Value) -> &'a Value {
    match parameter["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/parameters/").unwrap();
            &doc["components"]["parameters"][name]
        }
        None => parameter,
    }
}

#[test]
fn the_document_is_valid_openapi() {
    let doc: Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Every `$ref` names a component that exists.
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    assert!(refs.len() > 100, "{}", refs.len());
    for r in refs {
        let mut parts = r
            .strip_prefix("#/components/")
            .unwrap_or_else(|| panic!("{r}"))
            .splitn(2, '/');
        let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(
            doc["components"][kind].get(name).is_some(),
            "{r} names no component"
        );
    }

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/kapis/"), "{path}");
        let template: BTreeSet<&str> = openapi::template_parameters(path).into_iter().collect();
        let item = item.as_object().unwrap();
        for (key, op) in item {
            if key == "parameters" {
                continue;
            }
            assert!(METHODS.contains(&key.as_str()), "{path}: {key}");
            operations += 1;
            // Path parameters: declared (on the path or the operation),
            // required, and exactly those of the template.
            let declared: Vec<&Value> = (item.get("parameters").into_iter())
                .chain(op.get("parameters"))
                .flat_map(|p| p.as_array().unwrap())
                .map(|p| resolve(&doc, p))
                .collect();
            let in_path: BTreeSet<&str> = (declared.iter())
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{path}: {p}");
                    p["name"].as_str().unwrap()
                })
                .collect();
            assert_eq!(in_path, template, "{key} {path}");
            let names: Vec<(&str, &str)> = (declared.iter())
                .map(|p| (p["in"].as_str().unwrap(), p["name"].as_str().unwrap()))
                .collect();
            let unique: BTreeSet<_> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "{key} {path}: a parameter twice");
            // A success answer, and Status errors.
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|c| c.starts_with('2')), "{key} {path}");
            for (code, response) in responses {
                assert!(
                    code.len() == 3 && code.parse::<u16>().is_ok(),
                    "{path}: {code}"
                );
                let response = match response["$ref"].as_str() {
                    Some(r) => &doc["components"]["responses"][r.rsplit('/').next().unwrap()],
                    None => response,
                };
                assert!(response["description"].is_string(), "{key} {path} {code}");
            }
        }
    }
    assert_eq!(operations, ROUTES.len());
    let table_paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    assert_eq!(table_paths.len(), paths.len());
}

#[test]
fn user_answers_never_describe_a_password() {
    let doc: Value = serde_json::from_str(&generated()).unwrap();
    let user = &doc["components"]["schemas"]["User"];
    assert!(user["properties"]["spec"]["properties"]["email"].is_object());
    assert!(
        user["properties"]["spec"]["properties"]
            .get("password")
            .is_none()
    );
    let create = &doc["paths"]["/kapis/iam.kubesphere.io/v1alpha2/users"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/UserCreate"
    );
}

/// A value for a path parameter: a name nothing has (`resources` must
/// be a served plural, or the route answers that none is).
fn filler(parameter: &str) -> &'static str {
    match parameter {
        "resources" => "configmaps",
        _ => "no-such-object",
    }
}

/// A body the route reads (it may be refused: a 400 or a 422 is served).
fn body_for(request: Request) -> (&'static str, &'static str) {
    match request {
        Request::None => ("application/json", ""),
        Request::Json(Shape::Array(_)) => ("application/json", "[]"),
        Request::Json(_) => ("application/json", "{}"),
        Request::MergePatch | Request::AnyPatch => ("application/merge-patch+json", "{}"),
    }
}

fn is_no_route(status: u16, body: &Value) -> bool {
    status == 404
        && body.get("details").is_none()
        && body["message"] == "the server could not find the requested resource"
}

#[tokio::test]
async fn every_route_in_the_table_is_served() {
    let ts = TestServer::start().await;
    let bearer = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);

    // The detector knows a path nothing serves.
    let (status, _, bytes) = common::http(
        &ts.url,
        "GET",
        "/kapis/iam.kubesphere.io/v1alpha2/no-such-route",
        &[("authorization", &bearer)],
        "",
    )
    .await;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(is_no_route(status, &body), "{status} {body}");

    for route in ROUTES {
        let mut path = route.path.to_owned();
        for parameter in route.path_parameters() {
            path = path.replace(&format!("{{{parameter}}}"), filler(parameter));
        }
        let (content_type, body) = body_for(route.request);
        let (status, _, bytes) = common::http(
            &ts.url,
            route.method.as_str(),
            &path,
            &[("authorization", &bearer), ("content-type", content_type)],
            body,
        )
        .await;
        let text = String::from_utf8_lossy(&bytes);
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let what = format!("{} {path}: {status} {text}", route.method.as_str());
        assert!(!is_no_route(status, &answer), "not served: {what}");
        assert_ne!(status, 405, "method not served: {what}");
        assert!(status < 500, "{what}");
        if status == 404 {
            assert!(
                answer["details"].is_object(),
                "a 404 that names nothing: {what}"
            );
        }
        if (200..300).contains(&status) {
            // The answer has the table's status and shape.
            assert_eq!(status, route.success, "{what}");
            match route.answer {
                Shape::Page(_) => {
                    assert!(
                        answer["items"].is_array() && answer["totalItems"].is_u64(),
                        "{what}"
                    );
                }
                Shape::Array(_) => assert!(answer.is_array(), "{what}"),
                Shape::One("Success") => assert_eq!(answer["message"], "success", "{what}"),
                Shape::One(_) | Shape::Deleted(_) => assert!(answer.is_object(), "{what}"),
            }
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn the_server_serves_the_document_to_authenticated_callers() {
    let ts = TestServer::start().await;
    let bearer = format!("Bearer {}", ts.server.as_ref().unwrap().admin_token);
    let (status, headers, bytes) = common::http(
        &ts.url,
        "GET",
        openapi::PATH,
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(String::from_utf8_lossy(&bytes), generated());

    let (status, _, _) = common::http(&ts.url, "GET", openapi::PATH, &[], "").await;
    assert_eq!(status, 401, "the document is not public");
    ts.stop().await;
}
