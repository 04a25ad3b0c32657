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

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Checks the raw path and returns it percent-decoded. Borrows when the path
/// holds no escapes, which is the common case.
pub(crate) fn decode_path<'a>(raw: &'a str, limits: &Limits) -> Result<Cow<'a, str>, Error> {
    if raw.len() > limits.max_path_len {
        return Err(Error::PathTooLong {
            len: raw.len(),
            max: limits.max_path_len,
        });
    }
    // Go reads an empty path as a non-resource request; keep that.
    if raw.is_empty() {
        return Ok(Cow::Borrowed(raw));
    }
    if !raw.starts_with('/') {
        return Err(Error::NotAbsolutePath);
    }
    let bytes = raw.as_bytes();
    let mut escapes = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'#' => return Err(Error::Fragment),
            b'%' => {
                escapes = true;
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex_value),
                    bytes.get(i + 2).copied().and_then(hex_value),
                ) else {
                    return Err(Error::InvalidPercentEncoding {
                        part: TargetPart::Path,
                        offset: i,
                    });
                };
                let decoded = hi << 4 | lo;
                if decoded == b'/' {
                    return Err(Error::EncodedSlash);
                }
                if is_control(decoded) {
                    return Err(Error::ControlCharacter {
                        part: TargetPart::Path,
                        byte: decoded,
                    });
                }
            }
            b if is_control(b) => {
                return Err(Error::ControlCharacter {
                    part: TargetPart::Path,
                    byte: b,
                });
            }
            _ => {}
        }
    }
    let decoded = if escapes {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                // Well-formedness was checked above.
                let hi = hex_value(bytes[i + 1]).unwrap_or(0);
                let lo = hex_value(bytes[i + 2]).unwrap_or(0);
                out.push(hi << 4 | lo);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        let s = String::from_utf8(out).map_err(|_| Error::NotUtf8 {
            part: TargetPart::Path,
        })?;
        Cow::Owned(s)
    } else {
        Cow::Borrowed(raw)
    };
    check_segments(&decoded)?;
    Ok(decoded)
}

/// Rejects empty and dot segments. `path` is decoded and starts with `/`.
fn check_segments(path: &str) -> Result<(), Error> {
    let inner = trim_one_trailing_slash(path).as_bytes();
    if inner.is_empty() {
        return Ok(());
    }
    // Segment `[start, i)` ends at each `/` after the leading one and at the end.
    let mut start = 1;
    for i in 1..=inner.len() {
        if i < inner.len() && inner[i] != b'/' {
            continue;
        }
        match &inner[start..i] {
            b"" => return Err(Error::EmptySegment),
            b"." | b".." => return Err(Error::DotSegment),
            _ => {}
        }
        start = i + 1;
    }
    Ok(())
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

impl QueryKey {
    const ALL: [QueryKey; 5] = [
        QueryKey::Watch,
        QueryKey::FieldSelector,
        QueryKey::LabelSelector,
        QueryKey::Limit,
        QueryKey::TimeoutSeconds,
    ];

    fn name(self) -> &'static str {
        match self {
            QueryKey::Watch => "watch",
            QueryKey::FieldSelector => "fieldSelector",
            QueryKey::LabelSelector => "labelSelector",
            QueryKey::Limit => "limit",
            QueryKey::TimeoutSeconds => "timeoutSeconds",
        }
    }
}

/// A validated query: the raw (still encoded) first value of each parameter
/// the parse reads, found in the same pass that checks the whole query.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Query<'a> {
    first: [Option<&'a str>; 5],
}

impl<'a> Query<'a> {
    /// Checks the structure of the whole query and records the first value
    /// of each [`QueryKey`], without allocating.
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
        let mut offset = 0;
        for pair in raw.split('&') {
            check_query_bytes(pair, offset)?;
            offset += pair.len() + 1;
            if pair.is_empty() {
                continue;
            }
            // As Go's url.ParseQuery: a key without `=` has the empty value.
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            for (slot, k) in query.first.iter_mut().zip(QueryKey::ALL) {
                if slot.is_none() && decoded_eq(key, k.name()) {
                    *slot = Some(value);
                }
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

/// Rejects `#`, `;`, malformed escapes and raw control characters in one
/// query component; `offset` is where it starts in the query.
fn check_query_bytes(pair: &str, offset: usize) -> Result<(), Error> {
    let bytes = pair.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'#' => return Err(Error::Fragment),
            b';' => return Err(Error::SemicolonInQuery),
            b'%' => {
                let ok = bytes.get(i + 1).copied().and_then(hex_value).is_some()
                    && bytes.get(i + 2).copied().and_then(hex_value).is_some();
                if !ok {
                    return Err(Error::InvalidPercentEncoding {
                        part: TargetPart::Query,
                        offset: offset + i,
                    });
                }
            }
            b if is_control(b) => {
                return Err(Error::ControlCharacter {
                    part: TargetPart::Query,
                    byte: b,
                });
            }
            _ => {}
        }
    }
    Ok(())
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

/// Whether the raw component decodes to `expected`, without allocating.
fn decoded_eq(raw: &str, expected: &str) -> bool {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return raw == expected;
    }
    decoded_bytes(raw).eq(expected.bytes())
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
        assert_eq!(decode("//api"), Err(Error::EmptySegment));
        assert_eq!(decode("/api//v1"), Err(Error::EmptySegment));
        assert_eq!(decode("/api/v1//"), Err(Error::EmptySegment));
        assert_eq!(decode("/api/./v1"), Err(Error::DotSegment));
        assert_eq!(decode("/api/.."), Err(Error::DotSegment));
        assert_eq!(decode("/api/%2e%2E/x"), Err(Error::DotSegment));
        assert_eq!(decode("/a/.b/..c"), Ok(Cow::Borrowed("/a/.b/..c")));
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
