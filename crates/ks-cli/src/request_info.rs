//! `ks request-info`: the RequestInfo contract of `shared/DESIGN.md`.

use std::io::{self, BufRead, Write};

use ks_request_info::{GroupResource, ParseResult, RequestInfo, Resolver, ResolverConfig};
use serde::Serialize;
use serde::ser::SerializeSeq;

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

/// The JSON object of the contract, borrowing from a parse.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Json<'a> {
    is_resource_request: bool,
    path: &'a str,
    verb: &'a str,
    api_prefix: &'a str,
    api_group: &'a str,
    api_version: &'a str,
    namespace: &'a str,
    resource: &'a str,
    subresource: &'a str,
    name: &'a str,
    parts: PartsJson<'a>,
    field_selector: &'a str,
    label_selector: &'a str,
    workspace: &'a str,
    cluster: &'a str,
    resource_scope: &'static str,
    is_kubernetes_request: bool,
    error: Option<&'a str>,
}

struct PartsJson<'a>(&'a ks_request_info::Parts<'a>);

impl Serialize for PartsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for part in self.0.iter() {
            seq.serialize_element(part)?;
        }
        seq.end()
    }
}

fn json<'a>(info: &'a RequestInfo<'a>, error: Option<&'a str>) -> Json<'a> {
    Json {
        is_resource_request: info.is_resource_request,
        path: &info.path,
        verb: &info.verb,
        api_prefix: &info.api_prefix,
        api_group: &info.api_group,
        api_version: &info.api_version,
        namespace: &info.namespace,
        resource: &info.resource,
        subresource: &info.subresource,
        name: &info.name,
        parts: PartsJson(&info.parts),
        field_selector: &info.field_selector,
        label_selector: &info.label_selector,
        workspace: &info.workspace,
        cluster: &info.cluster,
        resource_scope: info.resource_scope.map_or("", |s| s.as_str()),
        is_kubernetes_request: info.is_kubernetes_request,
        error,
    }
}

/// Writes one JSON line for a parse result; returns whether it carried an
/// error (a parse failure, or an invalid exposed selector).
fn write_result(out: &mut impl Write, result: &ParseResult<'_>) -> io::Result<bool> {
    let (info, error) = match result {
        Ok(info) => (info, info.selector_error().map(|e| e.message)),
        Err(failure) => (&failure.partial, Some(failure.error.to_string())),
    };
    serde_json::to_writer(&mut *out, &json(info, error.as_deref()))?;
    out.write_all(b"\n")?;
    Ok(error.is_some())
}

/// A line that is not `METHOD URL`: every field empty, `error` set.
fn write_malformed(out: &mut impl Write, message: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &json(&RequestInfo::default(), Some(message)))?;
    out.write_all(b"\n")
}

/// The single form: one JSON line; `Ok(false)` when the parse reported an error.
pub fn run_single(
    resolver: &Resolver,
    method: &str,
    url: &str,
    out: &mut impl Write,
) -> io::Result<bool> {
    let had_error = write_result(out, &resolver.parse(method, url))?;
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
    loop {
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
            write_malformed(out, &format!("line longer than {MAX_LINE} bytes"))?;
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            write_malformed(out, "line is not valid UTF-8")?;
            continue;
        };
        let text = text.trim();
        match text.split_once([' ', '\t']) {
            Some((method, url)) if !url.trim().is_empty() => {
                write_result(out, &resolver.parse(method, url.trim()))?;
            }
            _ => write_malformed(out, "expected a line of the form 'METHOD URL'")?,
        }
    }
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
        assert_eq!(
            lines[5]["error"],
            "invalid selector: 'junk'; can't understand 'junk'"
        );
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
