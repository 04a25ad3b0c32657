//! Entry point shared by the cargo-fuzz target and the corpus-replay test.
//! Not a stable API.

use crate::{ParseResult, Resolver};

/// Parses `data` as `METHOD TARGET` (first line only; anything not UTF-8 is
/// replaced) and checks invariants that must hold for every input:
/// no panic, the owned form equals the borrowed one, segments are never
/// empty, the scope is set exactly for resource requests, the verb is one
/// of the known verbs for resource requests and the lowercased method for
/// the others (and in every failure, no verb has an uppercase letter).
pub fn check_request_info(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let line = text.lines().next().unwrap_or("");
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let resolver = Resolver::default();
    let result = resolver.parse(method, target);
    let owned = result
        .clone()
        .map(|i| i.into_owned())
        .map_err(|f| Box::new(f.into_owned()));
    assert_eq!(owned, result, "owned and borrowed forms differ");
    match &result {
        Ok(info) => check_info(info, method),
        Err(failure) => {
            let _ = failure.to_string();
            let partial = &failure.partial;
            if !partial.is_resource_request {
                assert_eq!(partial.verb, method.to_ascii_lowercase());
            }
            assert!(!partial.verb.bytes().any(|b| b.is_ascii_uppercase()));
        }
    }
    // Parsing through `http` types must agree whenever `http` accepts the URI.
    if let (Ok(m), Ok(uri)) = (
        http::Method::from_bytes(method.as_bytes()),
        target.parse::<http::Uri>(),
    ) && target.starts_with('/')
        && !target.contains('#')
    {
        let via_http: ParseResult<'_> = resolver.parse_uri(&m, &uri);
        assert_eq!(
            via_http
                .map(|i| i.into_owned())
                .map_err(|f| Box::new(f.into_owned())),
            owned,
            "parse_uri disagrees with parse"
        );
    }
}

fn check_info(info: &crate::RequestInfo<'_>, method: &str) {
    assert!(info.parts.iter().all(|s| !s.is_empty()));
    assert_eq!(info.parts.iter().count(), info.parts.len());
    assert_eq!(info.resource_scope.is_some(), info.is_resource_request);
    if info.is_resource_request {
        assert!(matches!(
            &*info.verb,
            "" | "get"
                | "list"
                | "watch"
                | "create"
                | "update"
                | "patch"
                | "delete"
                | "deletecollection"
                | "proxy"
        ));
        assert_eq!(info.parts.get(0).unwrap_or(""), info.resource);
    } else {
        // What authorizers match: Kubernetes' `strings.ToLower(req.Method)`.
        assert_eq!(info.verb, method.to_ascii_lowercase());
    }
    let _ = info.selector_error();
}
