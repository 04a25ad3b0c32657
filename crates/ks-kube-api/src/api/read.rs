//! get and list.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use http::StatusCode;
use ks_request_info::RequestInfo;
use ks_request_info::selector::{FieldSelector, LabelSelector};
use ks_store::{KeyValue, ListOptions, StoreError};
use serde_json::{Value, json};

use super::negotiate::{self, Format};
use super::{Params, Target};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::object::Selectors;
use crate::resources::ResourceDef;
use crate::table;

pub(super) async fn get(
    app: &Arc<App>,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
) -> ApiResult<Response> {
    let _ = params;
    let key = target.def.key(target.namespace, target.name);
    let Some(kv) = app.store.get(&key).await.map_err(ApiError::from)? else {
        return Err(ApiError::not_found(target.gr(), target.name));
    };
    if let Format::Table { version, include } = format {
        let obj = served_object(&target.def, &kv.value)?;
        let table = table::table(
            &target.def,
            std::slice::from_ref(&obj),
            version,
            *include,
            None,
            None,
            true,
        );
        return Ok(negotiate::respond(StatusCode::OK, format, &table));
    }
    let bytes = served_bytes(&target.def, &kv.value)?;
    Ok(negotiate::respond_bytes(
        StatusCode::OK,
        format,
        bytes.into_owned(),
    ))
}

/// The stored bytes as served at `def`'s version: the same bytes when the
/// object is stored at that version, else converted by
/// [`ResourceDef::served`] (from another resource's form for a resource
/// stored as another; custom resources convert with strategy None).
pub(crate) fn served_bytes<'b>(def: &ResourceDef, stored: &'b [u8]) -> ApiResult<Cow<'b, [u8]>> {
    if stored_at_version(def, stored) {
        return Ok(Cow::Borrowed(stored));
    }
    let obj = served_object(def, stored)?;
    Ok(Cow::Owned(
        serde_json::to_vec(&obj).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

/// A stored object, decoded, as served at `def`'s version: what handlers
/// that work on the object (tables, the old object of a write) read.
pub(crate) fn served_object(def: &ResourceDef, stored: &[u8]) -> ApiResult<Value> {
    Ok(def.served(crate::object::decode_stored(stored)?))
}

/// Whether stored JSON carries `def`'s apiVersion, without allocating: the
/// server writes `apiVersion` as the first field, so this is a prefix check.
fn stored_at_version(def: &ResourceDef, stored: &[u8]) -> bool {
    const KEY: &[u8] = b"\"apiVersion\":\"";
    let Some(at) = stored.windows(KEY.len()).position(|w| w == KEY) else {
        return false;
    };
    let mut rest = &stored[at + KEY.len()..];
    if !def.group.is_empty() {
        let Some(r) = rest
            .strip_prefix(def.group.as_bytes())
            .and_then(|r| r.strip_prefix(b"/"))
        else {
            return false;
        };
        rest = r;
    }
    rest.strip_prefix(def.version.as_bytes())
        .is_some_and(|r| r.first() == Some(&b'"'))
}

/// Parses the selectors of a list, watch or deletecollection, and checks
/// the field selector against what `def` lets it name.
pub(crate) fn selectors(info: &RequestInfo<'_>, def: &ResourceDef) -> ApiResult<Selectors> {
    selectors_of(&info.label_selector, &info.field_selector, def)
}

/// The selectors of a label and a field selector text (empty: none).
pub(crate) fn selectors_of(label: &str, field: &str, def: &ResourceDef) -> ApiResult<Selectors> {
    let label = if label.is_empty() {
        None
    } else {
        Some(LabelSelector::parse(label).map_err(|e| ApiError::bad_request(e.to_string()))?)
    };
    let field = if field.is_empty() {
        None
    } else {
        Some(FieldSelector::parse(field).map_err(|e| ApiError::bad_request(e.to_string()))?)
    };
    Selectors::new(label, field, &def.selectable)
}

/// A decoded continue token.
struct ContinueToken {
    revision: i64,
    start_after: String,
}

fn encode_continue(revision: i64, last_relative_key: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": format!("{last_relative_key}\u{0}")});
    base64::engine::general_purpose::STANDARD.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<ContinueToken> {
    let invalid = || ApiError::bad_request("continue key is not valid: the token does not decode");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    if value.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    let revision = value
        .get("rv")
        .and_then(Value::as_i64)
        .filter(|r| *r > 0)
        .ok_or_else(invalid)?;
    let start = value
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    let start_after = start.strip_suffix('\u{0}').ok_or_else(invalid)?;
    if start_after.is_empty() || start_after.contains('\u{0}') {
        return Err(invalid());
    }
    Ok(ContinueToken {
        revision,
        start_after: start_after.to_owned(),
    })
}

/// Parses a resourceVersion parameter.
pub(crate) fn parse_rv(value: &str) -> ApiResult<i64> {
    value
        .parse::<i64>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {value:?}")))
}

/// Waits (up to 3 s, as kube-apiserver does) until the store has reached
/// `revision`.
pub(crate) async fn wait_for_revision(app: &App, revision: i64) -> ApiResult<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while app.store.current_revision() < revision {
        if tokio::time::Instant::now() >= deadline {
            let mut err = ApiError::timeout(format!(
                "Too large resource version: {revision}, current: {}",
                app.store.current_revision()
            ));
            err.causes.push(crate::error::Cause {
                reason: "ResourceVersionTooLarge".into(),
                message: "Too large resource version".into(),
                field: String::new(),
            });
            return Err(err);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// One page of a list, as raw stored items.
pub(crate) struct Page {
    pub(crate) items: Vec<KeyValue>,
    pub(crate) revision: i64,
    pub(crate) continue_token: Option<String>,
    /// `metadata.remainingItemCount`: set on a limited list without
    /// selectors, as Kubernetes does.
    pub(crate) remaining: Option<u64>,
}

/// Reads one page of a list, honouring `limit`, `continue` and
/// `resourceVersion`/`resourceVersionMatch`.
pub(crate) async fn read_page(
    app: &App,
    prefix: &str,
    selectors: &Selectors,
    params: &Params,
) -> ApiResult<Page> {
    let mut revision = None;
    let mut start_after = None;
    if let Some(token) = &params.continue_token {
        if params
            .resource_version
            .as_deref()
            .is_some_and(|rv| rv != "0")
        {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let token = decode_continue(token)?;
        revision = Some(token.revision);
        start_after = Some(format!("{prefix}{}", token.start_after));
    } else if let Some(rv) = &params.resource_version {
        let rv = parse_rv(rv)?;
        match params.resource_version_match.as_deref() {
            Some("Exact") => {
                if rv == 0 {
                    return Err(ApiError::bad_request(
                        "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
                wait_for_revision(app, rv).await?;
                revision = Some(rv);
            }
            None | Some("NotOlderThan") => {
                if rv > 0 {
                    wait_for_revision(app, rv).await?;
                }
            }
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
                )));
            }
        }
    } else if params.resource_version_match.is_some() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    let filter = |kv: &KeyValue| selectors.matches_bytes(&kv.value);
    let opts = ListOptions {
        prefix,
        revision,
        start_after: start_after.as_deref(),
        limit: params.limit,
        filter: if selectors.is_empty() {
            None
        } else {
            Some(&filter)
        },
    };
    let page = app.store.list(opts).await.map_err(|err| match err {
        StoreError::Compacted { .. } if params.continue_token.is_some() => ApiError::expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        ),
        StoreError::Compacted { requested, compacted } => {
            ApiError::expired(format!("too old resource version: {requested} ({compacted})"))
        }
        other => ApiError::from(other),
    })?;
    let continue_token = if page.more {
        page.items.last().map(|kv| {
            encode_continue(
                page.revision,
                kv.key.strip_prefix(prefix).unwrap_or(&kv.key),
            )
        })
    } else {
        None
    };
    Ok(Page {
        items: page.items,
        revision: page.revision,
        continue_token,
        remaining: page.remaining,
    })
}

pub(super) async fn list(
    app: &Arc<App>,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    info: &RequestInfo<'_>,
) -> ApiResult<Response> {
    let selectors = selectors(info, &target.def)?;
    let ns = (!target.namespace.is_empty()).then_some(target.namespace);
    let prefix = target.def.prefix_in(ns);
    let page = read_page(app, &prefix, &selectors, params).await?;
    let def = &target.def;
    if let Format::Table { version, include } = format {
        let mut objects = Vec::with_capacity(page.items.len());
        for kv in &page.items {
            objects.push(served_object(def, &kv.value)?);
        }
        let table = table::table(
            def,
            &objects,
            version,
            *include,
            Some(page.revision),
            page.continue_token.as_deref(),
            true,
        );
        return Ok(negotiate::respond(StatusCode::OK, format, &table));
    }
    let mut out = Vec::with_capacity(
        128 + page
            .items
            .iter()
            .map(|kv| kv.value.len() + 1)
            .sum::<usize>(),
    );
    out.extend_from_slice(b"{\"kind\":");
    serde_json::to_writer(&mut out, &def.list_kind)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    out.extend_from_slice(b",\"apiVersion\":");
    serde_json::to_writer(&mut out, &def.api_version())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    out.extend_from_slice(b",\"metadata\":{\"resourceVersion\":\"");
    out.extend_from_slice(page.revision.to_string().as_bytes());
    out.push(b'"');
    if let Some(token) = &page.continue_token {
        out.extend_from_slice(b",\"continue\":");
        serde_json::to_writer(&mut out, token).map_err(|e| ApiError::internal(e.to_string()))?;
    }
    if let Some(remaining) = page.remaining {
        out.extend_from_slice(b",\"remainingItemCount\":");
        out.extend_from_slice(remaining.to_string().as_bytes());
    }
    out.extend_from_slice(b"},\"items\":[");
    for (i, kv) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&served_bytes(def, &kv.value)?);
    }
    out.extend_from_slice(b"]}");
    Ok(negotiate::respond_bytes(StatusCode::OK, format, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_bytes_rewrites_only_other_versions() {
        let mut def = crate::resources::ResourceDef::of(std::sync::Arc::new(
            crate::kinds::configmap::ConfigMaps,
        ));
        let stored = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#;
        assert!(matches!(
            served_bytes(&def, stored).unwrap(),
            Cow::Borrowed(_)
        ));
        def.group = "example.com".into();
        def.version = "v2".into();
        let served = served_bytes(&def, stored).unwrap();
        let v: Value = serde_json::from_slice(&served).unwrap();
        assert_eq!(v["apiVersion"], "example.com/v2");
        let stored = br#"{"apiVersion":"example.com/v2beta1","kind":"X"}"#;
        assert!(matches!(served_bytes(&def, stored).unwrap(), Cow::Owned(_)));
        let stored = br#"{"apiVersion":"example.com/v2","kind":"X"}"#;
        assert!(matches!(
            served_bytes(&def, stored).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = encode_continue(42, "default/cm-7");
        let d = decode_continue(&t).unwrap();
        assert_eq!((d.revision, d.start_after.as_str()), (42, "default/cm-7"));
        assert!(decode_continue("!!!").is_err());
        let no_nul = base64::engine::general_purpose::STANDARD
            .encode(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"a"}"#);
        assert!(decode_continue(&no_nul).is_err());
        let bad_v = base64::engine::general_purpose::STANDARD
            .encode("{\"v\":\"x\",\"rv\":3,\"start\":\"a\\u0000\"}");
        assert!(decode_continue(&bad_v).is_err());
    }
}
