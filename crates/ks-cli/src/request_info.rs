//! `ks request-info`: a RequestInfo as one JSON line, the contract that
//! `docs/cli-contract.md` (at the root of the repository) describes.
//!
//! `error` is set only when the request cannot be parsed at all (a server
//! answers 400 before authorizing); an invalid label or field selector is
//! not such an error, since Kubernetes still resolves the request, and goes
//! to `selectorError` instead.

use std::io::{self, BufRead, Write};

use ks_request_info::{GroupResource, ParseResult, RequestInfo, Resolver, ResolverConfig};

use crate::CliError;
use crate::args::RequestInfoArgs;

/// Splits a comma-separated list; empty items (and an empty string) vanish.
fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|item| !item.is_empty())
}

/// Builds the resolver the options describe.
pub fn resolver(args: &RequestInfoArgs) -> Result<Resolver, CliError> {
    let global_resources = list(&args.global_resources)
        .map(|item| item.parse::<GroupResource>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Usage(format!("--global-resources: {e}")))?;
    let config = ResolverConfig {
        api_prefixes: list(&args.api_prefixes).map(str::to_owned).collect(),
        groupless_prefixes: list(&args.groupless_prefixes).map(str::to_owned).collect(),
        global_resources,
        ..ResolverConfig::default()
    };
    Resolver::new(config).map_err(|e| CliError::Usage(e.to_string()))
}

/// Bytes JSON strings must escape: `"`, `\\` and control characters.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Appends `s` as a JSON string. Escapes what JSON requires (`"`, `\\`,
/// control characters) exactly as serde_json does; everything else, UTF-8
/// included, is copied as is. Most strings need no escape and are copied
/// in one go.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[usize::from(b)] {
            continue;
        }
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends the contract's JSON object for `info` and a newline. Field order
/// and names are the contract's (see `docs/cli-contract.md`): the fields
/// every consumer knows, then `error`, then the later `selectorError`.
fn push_json_line(
    out: &mut Vec<u8>,
    info: &RequestInfo<'_>,
    error: Option<&str>,
    selector_error: Option<&str>,
) {
    let field = |out: &mut Vec<u8>, name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        push_json_str(out, value);
    };
    let flag = |out: &mut Vec<u8>, name: &str, value: bool| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(if value { b"true" } else { b"false" });
    };
    flag(out, "{\"isResourceRequest\":", info.is_resource_request);
    field(out, ",\"path\":", &info.path);
    field(out, ",\"verb\":", &info.verb);
    field(out, ",\"apiPrefix\":", &info.api_prefix);
    field(out, ",\"apiGroup\":", &info.api_group);
    field(out, ",\"apiVersion\":", &info.api_version);
    field(out, ",\"namespace\":", &info.namespace);
    field(out, ",\"resource\":", &info.resource);
    field(out, ",\"subresource\":", &info.subresource);
    field(out, ",\"name\":", &info.name);
    out.extend_from_slice(b",\"parts\":[");
    for (i, part) in info.parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, part);
    }
    out.push(b']');
    field(out, ",\"fieldSelector\":", &info.field_selector);
    field(out, ",\"labelSelector\":", &info.label_selector);
    field(out, ",\"workspace\":", &info.workspace);
    field(out, ",\"cluster\":", &info.cluster);
    field(
        out,
        ",\"resourceScope\":",
        info.resource_scope.map_or("", |s| s.as_str()),
    );
    flag(out, ",\"isKubernetesRequest\":", info.is_kubernetes_request);
    let nullable = |out: &mut Vec<u8>, name: &str, value: Option<&str>| match value {
        Some(v) => field(out, name, v),
        None => {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"null");
        }
    };
    nullable(out, ",\"error\":", error);
    nullable(out, ",\"selectorError\":", selector_error);
    out.extend_from_slice(b"}\n");
}

/// Appends one JSON line for a parse result; returns whether the parse
/// failed. An invalid selector is reported in `selectorError` and is not a
/// failure: the request still resolves, as in Kubernetes.
fn push_result(out: &mut Vec<u8>, result: &ParseResult<'_>) -> bool {
    match result {
        Ok(info) => {
            let selector_error = info.selector_error();
            let message = selector_error.as_ref().map(|e| e.message.as_str());
            push_json_line(out, info, None, message);
            false
        }
        Err(failure) => {
            let error = failure.error.to_string();
            push_json_line(out, &failure.partial, Some(&error), None);
            true
        }
    }
}

/// A line that is not `METHOD URL`: every field empty, `error` set.
fn push_malformed(out: &mut Vec<u8>, message: &str) {
    push_json_line(out, &RequestInfo::default(), Some(message), None);
}

/// The single form: one JSON line; `Ok(false)` when the request could not
/// be parsed (`error` set). A selector error alone is `Ok(true)`.
pub fn run_single(
    resolver: &Resolver,
    method: &str,
    url: &str,
    out: &mut impl Write,
) -> io::Result<bool> {
    let mut line = Vec::with_capacity(512);
    let had_error = push_result(&mut line, &resolver.parse(method, url));
    out.write_all(&line)?;
    out.flush()?;
    Ok(!had_error)
}

/// Longest line `--batch` reads; longer lines get an error line (the
/// resolver's own limits are far below this).
const MAX_LINE: usize = 1 << 20;

/// The batch form: one JSON line per input line, in order.
pub fn run_batch(resolver: &Resolver, input: impl BufRead, out: &mut impl Write) -> io::Result<()> {
    let mut input = input.take(u64::MAX);
    let mut line = Vec::with_capacity(1024);
    // JSON lines are built here and handed to `out` in large writes.
    let mut json = Vec::with_capacity(64 * 1024);
    loop {
        if json.len() > 60 * 1024 {
            out.write_all(&json)?;
            json.clear();
        }
        line.clear();
        // Bound each read so one endless line cannot exhaust memory.
        input.set_limit(MAX_LINE as u64 + 1);
        let n = input.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_LINE {
            // Skip the rest of the over-long line.
            loop {
                input.set_limit(MAX_LINE as u64);
                let mut sink = Vec::new();
                let m = input.read_until(b'\n', &mut sink)?;
                if m == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            push_malformed(&mut json, &format!("line longer than {MAX_LINE} bytes"));
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            push_malformed(&mut json, "line is not valid UTF-8");
            continue;
        };
        let text = text.trim();
        match text.split_once([' ', '\t']) {
            Some((method, url)) if !url.trim().is_empty() => {
                push_result(&mut json, &resolver.parse(method, url.trim()));
            }
            _ => push_malformed(&mut json, "expected a line of the form 'METHOD URL'"),
        }
    }
    out.write_all(&json)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(input: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        run_batch(&Resolver::default(), input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn batch_keeps_order_and_reports_bad_lines() {
        let lines = batch(
            "GET /api/v1/pods\n\nGET\nDELETE /apis/apps/v1/namespaces/a/deployments\r\nGET /api/v1/watch\nGET /api/v1/x?fieldSelector=junk",
        );
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0]["verb"], "list");
        assert!(lines[0]["error"].is_null());
        assert!(lines[1]["error"].as_str().unwrap().contains("METHOD URL"));
        assert!(lines[2]["error"].is_string());
        assert_eq!(lines[3]["verb"], "deletecollection");
        assert_eq!(lines[3]["namespace"], "a");
        assert_eq!(
            lines[4]["error"],
            "unable to determine kind and namespace from url: /api/v1/watch"
        );
        assert_eq!(lines[5]["verb"], "list");
        assert!(lines[5]["error"].is_null());
        assert_eq!(
            lines[5]["selectorError"],
            "invalid selector: 'junk'; can't understand 'junk'"
        );
        for line in &lines[..5] {
            assert!(line["selectorError"].is_null(), "{line}");
        }
    }

    #[test]
    fn selector_errors_are_not_parse_errors() {
        let mut out = Vec::new();
        let parsed = run_single(
            &Resolver::default(),
            "GET",
            "/api/v1/namespaces/a/pods?labelSelector=x+in+(&fieldSelector=metadata.name%3Dp",
            &mut out,
        )
        .unwrap();
        assert!(parsed, "a selector error alone counts as parsed");
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v["error"].is_null());
        assert_eq!(
            v["selectorError"],
            "unable to parse requirement: found '', expected: ',', ')' or identifier"
        );
        assert_eq!(v["verb"], "list");
        assert_eq!(v["namespace"], "a");
        assert_eq!(v["labelSelector"], "x in (");
        assert_eq!(v["fieldSelector"], "metadata.name=p");
        // The broken label selector fails Kubernetes' ListOptions decoding,
        // so the field selector names nothing.
        assert_eq!(v["name"], "");

        let mut out = Vec::new();
        let parsed = run_single(&Resolver::default(), "GET", "/api/v1/watch", &mut out).unwrap();
        assert!(!parsed);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v["error"].is_string());
        assert!(v["selectorError"].is_null());
        assert_eq!(v["verb"], "get");
    }

    #[test]
    fn invalid_utf8_line() {
        let mut out = Vec::new();
        run_batch(
            &Resolver::default(),
            &b"GET /a\xff\nGET /api\n"[..],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["error"], "line is not valid UTF-8");
        assert_eq!(lines[1]["isKubernetesRequest"], true);
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "q\"b\\s",
            "nl\n\r\t\u{8}\u{c}",
            "\u{1}\u{1f}\u{7f}",
            "ü/é✓",
            "",
        ] {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }

    #[test]
    fn fields_and_order_follow_the_contract() {
        let mut out = Vec::new();
        run_single(
            &Resolver::default(),
            "GET",
            "/api/v1/namespaces/default/pods/p1/log",
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let keys = [
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
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| {
                text.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} missing"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["parts"], serde_json::json!(["pods", "p1", "log"]));
        assert_eq!(v["subresource"], "log");
        assert_eq!(v["resourceScope"], "Namespace");
    }
}
