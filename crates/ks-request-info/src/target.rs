//! Validation and decoding of a request target (`path?query`).
//!
//! Kubernetes parses `req.URL.Path`, the percent-decoded path, and splits it
//! on `/` after trimming slashes at both ends. That leaves room for a path
//! that an authorizer reads one way and a backend routes another. This module
//! closes it with one rule: a target is either unambiguous, or rejected.
//!
//! Path rules, checked on the decoded path unless stated:
//! - it is empty (a non-resource request, as in Go) or starts with `/`, and is at most [`Limits::max_path_len`] bytes (raw);
//! - `%XX` escapes are decoded; a malformed escape is an error, and so is
//!   `%2F`, because an encoded slash inside a segment would change the
//!   segments for a backend that decodes before splitting;
//! - no control characters (0x00-0x1F, 0x7F), raw or encoded, so nothing
//!   can smuggle line breaks into logs;
//! - the result is UTF-8;
//! - no empty segments (`//`) and no `.` or `..` segments: we never normalize,
//!   since a proxied backend might normalize differently;
//! - one trailing `/` is accepted and ignored, as Kubernetes does.
//!
//! Query rules: at most [`Limits::max_query_len`] bytes, well-formed `%XX`
//! escapes, no `;` separators (Go drops such pairs, other parsers split on
//! them), no raw control characters, and the values this crate reads must
//! decode to UTF-8. `+` decodes to a space, as in Go's `url.ParseQuery`.
//!
//! A `#` anywhere in the target is rejected: HTTP request targets carry no
//! fragment.

use std::borrow::Cow;

use crate::error::{Error, TargetPart};

/// Size bounds applied before any parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum path length in bytes (raw, before decoding). Default 8 KiB.
    pub max_path_len: usize,
    /// Maximum query length in bytes (raw). Default 64 KiB.
    pub max_query_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_path_len: 8 * 1024,
            max_query_len: 64 * 1024,
        }
    }
}

/// Splits a request target into its raw path and query (without the `?`).
pub(crate) fn split_target(target: &str) -> (&str, &str) {
    match target.bytes().position(|b| b == b'?') {
        Some(i) => (&target[..i], &target[i + 1..]),
        None => (target, ""),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

const fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Byte classes for the single-pass scans of paths and queries.
pub(crate) const PLAIN: u8 = 0;
pub(crate) const PERCENT: u8 = 2;
/// `#` and control characters: rejected in both parts.
pub(crate) const FORBIDDEN: u8 = 3;
const AMPERSAND: u8 = 4;
const EQUALS: u8 = 5;
const SEMICOLON: u8 = 6;
const PLUS: u8 = 7;

const fn byte_classes() -> [u8; 256] {
    let mut table = [PLAIN; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'%' => PERCENT,
            b'#' => FORBIDDEN,
            b'&' => AMPERSAND,
            b'=' => EQUALS,
            b';' => SEMICOLON,
            b'+' => PLUS,
            c if is_control(c) => FORBIDDEN,
            _ => PLAIN,
        };
        b += 1;
    }
    table
}

pub(crate) static CLASS: [u8; 256] = byte_classes();

/// The value of the `%XX` escape at `i`, or the error for a malformed one.
fn escape_at(bytes: &[u8], i: usize, part: TargetPart) -> Result<u8, Error> {
    match (
        bytes.get(i + 1).copied().and_then(hex_value),
        bytes.get(i + 2).copied().and_then(hex_value),
    ) {
        (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
        _ => Err(Error::InvalidPercentEncoding { part, offset: i }),
    }
}

pub(crate) fn forbidden(b: u8, part: TargetPart) -> Error {
    if b == b'#' {
        Error::Fragment
    } else {
        Error::ControlCharacter { part, byte: b }
    }
}

/// The path length bound.
pub(crate) fn check_path_len(raw: &str, limits: &Limits) -> Result<(), Error> {
    if raw.len() > limits.max_path_len {
        return Err(Error::PathTooLong {
            len: raw.len(),
            max: limits.max_path_len,
        });
    }
    Ok(())
}

/// Checks the raw path's bytes and returns it percent-decoded; the segment
/// rules are checked when the decoded path is tokenized. Borrows when the
/// path holds no escapes, which is the common case.
pub(crate) fn decode_path<'a>(raw: &'a str, limits: &Limits) -> Result<Cow<'a, str>, Error> {
    check_path_len(raw, limits)?;
    // Go reads an empty path as a non-resource request; keep that.
    if raw.is_empty() {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    if bytes[0] != b'/' {
        return Err(Error::NotAbsolutePath);
    }
    // No short-circuit: the compiler turns this into a vectorized scan.
    let special = bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == 0x7f) | (b == b'#') | (b == b'%')
    });
    if !special {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match CLASS[b as usize] {
            PERCENT => {
                let decoded = escape_at(bytes, i, TargetPart::Path)?;
                if decoded == b'/' {
                    return Err(Error::EncodedSlash);
                }
                if is_control(decoded) {
                    return Err(forbidden(decoded, TargetPart::Path));
                }
                out.push(decoded);
                i += 3;
            }
            FORBIDDEN => return Err(forbidden(b, TargetPart::Path)),
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| Error::NotUtf8 {
            part: TargetPart::Path,
        })
}

/// `/a/b/` -> `/a/b`; `/` -> `` (no segments).
pub(crate) fn trim_one_trailing_slash(path: &str) -> &str {
    path.strip_suffix('/').unwrap_or(path)
}

/// The query parameters the parse reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryKey {
    Watch,
    FieldSelector,
    LabelSelector,
    Limit,
    TimeoutSeconds,
}

/// A validated query: the raw (still encoded) first value of each parameter
/// the parse reads, found in the same pass that checks the whole query.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Query<'a> {
    first: [Option<&'a str>; 5],
}

impl<'a> Query<'a> {
    /// Checks the structure of the whole query and records the first value
    /// of each [`QueryKey`], in one pass and without allocating.
    pub(crate) fn new(raw: &'a str, limits: &Limits) -> Result<Self, Error> {
        if raw.len() > limits.max_query_len {
            return Err(Error::QueryTooLong {
                len: raw.len(),
                max: limits.max_query_len,
            });
        }
        let mut query = Query::default();
        if raw.is_empty() {
            return Ok(query);
        }
        let bytes = raw.as_bytes();
        let mut pair_start = 0;
        // Offset of the pair's first `=`, and whether its key holds escapes.
        let mut equals: Option<usize> = None;
        let mut key_escaped = false;
        for i in 0..=bytes.len() {
            let class = match bytes.get(i) {
                Some(&b) => CLASS[b as usize],
                None => AMPERSAND,
            };
            match class {
                AMPERSAND => {
                    if i > pair_start {
                        let key_end = equals.unwrap_or(i);
                        let value = equals.map_or("", |e| &raw[e + 1..i]);
                        if let Some(k) = query_key(&raw[pair_start..key_end], key_escaped) {
                            query.first[k as usize].get_or_insert(value);
                        }
                    }
                    pair_start = i + 1;
                    equals = None;
                    key_escaped = false;
                }
                EQUALS if equals.is_none() => equals = Some(i),
                PERCENT | PLUS => {
                    if class == PERCENT {
                        escape_at(bytes, i, TargetPart::Query)?;
                    }
                    key_escaped |= equals.is_none();
                }
                SEMICOLON => return Err(Error::SemicolonInQuery),
                FORBIDDEN => return Err(forbidden(bytes[i], TargetPart::Query)),
                _ => {}
            }
        }
        Ok(query)
    }

    /// The first value of `key`, decoded as Go's `url.Values.Get` does
    /// (`+` is a space); borrowed when nothing needed decoding.
    pub(crate) fn get(&self, key: QueryKey) -> Result<Option<Cow<'a, str>>, Error> {
        self.first[key as usize].map(decode_component).transpose()
    }
}

/// Which [`QueryKey`] a raw key names, comparing decoded keys as Go does.
fn query_key(raw: &str, escaped: bool) -> Option<QueryKey> {
    let key = |name: &[u8]| match name {
        b"watch" => Some(QueryKey::Watch),
        b"fieldSelector" => Some(QueryKey::FieldSelector),
        b"labelSelector" => Some(QueryKey::LabelSelector),
        b"limit" => Some(QueryKey::Limit),
        b"timeoutSeconds" => Some(QueryKey::TimeoutSeconds),
        _ => None,
    };
    if !escaped {
        return key(raw.as_bytes());
    }
    // Decode into a small buffer; anything longer than every name is no match.
    let mut buf = [0u8; 16];
    let mut len = 0;
    for b in decoded_bytes(raw) {
        *buf.get_mut(len)? = b;
        len += 1;
    }
    key(&buf[..len])
}

/// Decoded bytes of a well-formed query component, lazily.
fn decoded_bytes(raw: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = raw.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *bytes.get(i)?;
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value).unwrap_or(0);
                let lo = bytes.get(i + 2).copied().and_then(hex_value).unwrap_or(0);
                i += 3;
                Some(hi << 4 | lo)
            }
            b'+' => {
                i += 1;
                Some(b' ')
            }
            _ => {
                i += 1;
                Some(b)
            }
        }
    })
}

/// Decodes a query component (`+` is a space); borrows when nothing is encoded.
fn decode_component(raw: &str) -> Result<Cow<'_, str>, Error> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes: Vec<u8> = decoded_bytes(raw).collect();
    String::from_utf8(bytes)
        .map(Cow::Owned)
        .map_err(|_| Error::NotUtf8 {
            part: TargetPart::Query,
        })
}

/// Whether `method` is an HTTP token (RFC 9110 `tchar`s), as Go's
/// `http.NewRequest` requires.
pub(crate) fn is_valid_method(method: &str) -> bool {
    if matches!(method, "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD") {
        return true;
    }
    !method.is_empty()
        && method.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(p: &str) -> Result<Cow<'_, str>, Error> {
        decode_path(p, &Limits::default())
    }

    #[test]
    fn path_rules() {
        assert_eq!(decode("/api/v1/pods").unwrap(), "/api/v1/pods");
        assert!(matches!(decode("/api/v1/pods").unwrap(), Cow::Borrowed(_)));
        assert_eq!(decode("/a/b%3Ac").unwrap(), "/a/b:c");
        assert_eq!(decode("/a/%C3%BC").unwrap(), "/a/ü");
        assert_eq!(decode("/").unwrap(), "/");
        assert_eq!(decode("/a/").unwrap(), "/a/");
        assert_eq!(decode("").unwrap(), "");
        assert_eq!(decode("api/v1"), Err(Error::NotAbsolutePath));
        assert_eq!(decode("/a%2Fb"), Err(Error::EncodedSlash));
        assert_eq!(decode("/a%2fb"), Err(Error::EncodedSlash));
        assert!(matches!(
            decode("/a%2"),
            Err(Error::InvalidPercentEncoding { offset: 2, .. })
        ));
        assert!(matches!(
            decode("/a%zz"),
            Err(Error::InvalidPercentEncoding { .. })
        ));
        assert!(matches!(
            decode("/a%0Ab"),
            Err(Error::ControlCharacter { byte: 0x0a, .. })
        ));
        assert!(matches!(
            decode("/a\tb"),
            Err(Error::ControlCharacter { byte: 0x09, .. })
        ));
        assert!(matches!(decode("/a%FF"), Err(Error::NotUtf8 { .. })));
        // Segment rules are the tokenizer's; decoding keeps the text.
        assert_eq!(decode("/api/%2e%2E/x").unwrap(), "/api/../x");
        assert_eq!(decode("/a#frag"), Err(Error::Fragment));
        let long = format!("/{}", "a".repeat(9000));
        assert!(matches!(decode(&long), Err(Error::PathTooLong { .. })));
    }

    #[test]
    fn query_rules() {
        let l = Limits::default();
        let q = Query::new("watch=1&fieldSelector=metadata.name%3Dfoo&limit", &l).unwrap();
        assert_eq!(q.get(QueryKey::Watch).unwrap().as_deref(), Some("1"));
        assert_eq!(
            q.get(QueryKey::FieldSelector).unwrap().as_deref(),
            Some("metadata.name=foo")
        );
        assert_eq!(q.get(QueryKey::Limit).unwrap().as_deref(), Some(""));
        assert_eq!(q.get(QueryKey::LabelSelector).unwrap(), None);
        // Keys are compared decoded; the first value wins.
        let q = Query::new("w%61tch=a+b&watch=2&&", &l).unwrap();
        assert_eq!(q.get(QueryKey::Watch).unwrap().as_deref(), Some("a b"));
        assert_eq!(
            Query::new("a=1;b=2", &l).err(),
            Some(Error::SemicolonInQuery)
        );
        assert!(matches!(
            Query::new("a=%G0", &l),
            Err(Error::InvalidPercentEncoding { .. })
        ));
        let q = Query::new("labelSelector=%FF", &l).unwrap();
        assert!(matches!(
            q.get(QueryKey::LabelSelector),
            Err(Error::NotUtf8 { .. })
        ));
    }

    #[test]
    fn methods() {
        for m in ["GET", "get", "PATCH", "X-CUSTOM", "M~"] {
            assert!(is_valid_method(m), "{m}");
        }
        for m in ["", "GE T", "G(T", "GÉT", "G\nT"] {
            assert!(!is_valid_method(m), "{m}");
        }
    }
}
