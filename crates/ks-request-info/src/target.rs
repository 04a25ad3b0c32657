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
use crate::scan::query_flags;

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
/// the parse reads, found while checking the whole query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    first: [Option<&'a str>; 5],
    /// Whether the query holds a `%` or `+`, so that values may need decoding.
    encoded: bool,
}

impl<'a> Query<'a> {
    /// The query of a target without one.
    pub(crate) const EMPTY: Query<'static> = Query {
        first: [None; 5],
        encoded: false,
    };

    /// Checks the structure of the whole query and records the first value
    /// of each [`QueryKey`], without allocating.
    ///
    /// A vectorized pass classifies the query first; one with an error
    /// byte (`;`, `#`, control characters) takes [`Query::scan`], byte by
    /// byte, which reports the first error. Any other, the usual case, has
    /// its escapes checked and is cut at its `&`s (both found a word at a
    /// time), and each pair is matched by its first bytes, unless an escape
    /// in its key calls for decoding it.
    pub(crate) fn new(raw: &'a str, limits: &Limits) -> Result<Self, Error> {
        if raw.len() > limits.max_query_len {
            return Err(Error::QueryTooLong {
                len: raw.len(),
                max: limits.max_query_len,
            });
        }
        let bytes = raw.as_bytes();
        let (bad, encoded) = query_flags(bytes);
        if bad {
            return Self::scan(raw);
        }
        if encoded {
            // With no error byte, the first malformed escape is the error.
            for at in memchr::memchr_iter(b'%', bytes) {
                escape_at(bytes, at, TargetPart::Query)?;
            }
        }
        let mut query = Query {
            encoded,
            ..Query::default()
        };
        let mut start = 0;
        for end in memchr::memchr_iter(b'&', bytes) {
            if let Some(pair) = raw.get(start..end) {
                query.record_pair(pair);
            }
            start = end + 1;
        }
        if let Some(pair) = raw.get(start..) {
            query.record_pair(pair);
        }
        Ok(query)
    }

    /// Records a `key=value` (or bare `key`) pair of a checked query.
    #[inline(always)]
    fn record_pair(&mut self, pair: &'a str) {
        // A key equal to a name holds no escape; only a key that is not
        // one of the names as it stands may be one once decoded.
        let found = plain_key(pair).or_else(|| {
            if !self.encoded {
                return None;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let escaped = key.bytes().any(|b| b == b'%' || b == b'+');
            query_key(key, escaped).map(|k| (k, value))
        });
        if let Some((k, value)) = found {
            self.first[k as usize].get_or_insert(value);
        }
    }

    /// The byte-by-byte scan of [`Query::new`], for a query with an error:
    /// reports the first one.
    #[cold]
    fn scan(raw: &'a str) -> Result<Self, Error> {
        let mut query = Query::default();
        let bytes = raw.as_bytes();
        let mut pair_start = 0;
        // Offset of the pair's first `=` (the pair's end while none), and
        // whether its key holds escapes.
        let mut equals = usize::MAX;
        let mut key_escaped = false;
        for (i, &b) in bytes.iter().enumerate() {
            let class = CLASS[b as usize];
            if class == PLAIN {
                continue;
            }
            match class {
                AMPERSAND => {
                    if i > pair_start {
                        query.record(raw, pair_start, equals, i, key_escaped);
                    }
                    pair_start = i + 1;
                    equals = usize::MAX;
                    key_escaped = false;
                }
                EQUALS => equals = equals.min(i),
                PERCENT => {
                    escape_at(bytes, i, TargetPart::Query)?;
                    key_escaped |= equals == usize::MAX;
                    query.encoded = true;
                }
                PLUS => {
                    key_escaped |= equals == usize::MAX;
                    query.encoded = true;
                }
                SEMICOLON => return Err(Error::SemicolonInQuery),
                _ => return Err(forbidden(b, TargetPart::Query)),
            }
        }
        if bytes.len() > pair_start {
            query.record(raw, pair_start, equals, bytes.len(), key_escaped);
        }
        Ok(query)
    }

    /// Records the pair `raw[start..end]`, whose first `=` is at `equals`
    /// (`usize::MAX` for none).
    #[inline]
    fn record(&mut self, raw: &'a str, start: usize, equals: usize, end: usize, escaped: bool) {
        let key_end = equals.min(end);
        let Some(key) = raw.get(start..key_end) else {
            return;
        };
        if let Some(k) = query_key(key, escaped) {
            let value = raw.get(key_end + 1..end).unwrap_or("");
            self.first[k as usize].get_or_insert(value);
        }
    }

    /// Whether no parameter the parse reads is present.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.first.iter().all(Option::is_none)
    }

    /// The first value of `key`, decoded as Go's `url.Values.Get` does
    /// (`+` is a space); borrowed when nothing needed decoding.
    #[inline]
    pub(crate) fn get(&self, key: QueryKey) -> Result<Option<Cow<'a, str>>, Error> {
        match self.first[key as usize] {
            None => Ok(None),
            Some(raw) if !self.encoded => Ok(Some(Cow::Borrowed(raw))),
            Some(raw) => decode_component(raw).map(Some),
        }
    }
}

/// The key and raw value of a pair with no escapes, when the key is one
/// the parse reads: the pair starts with the name, then `=` or nothing.
#[inline]
fn plain_key(pair: &str) -> Option<(QueryKey, &str)> {
    let bytes = pair.as_bytes();
    let (key, name): (QueryKey, &[u8]) = match bytes.first()? {
        b'w' => (QueryKey::Watch, b"watch"),
        b'f' => (QueryKey::FieldSelector, b"fieldSelector"),
        b'l' if bytes.get(1) == Some(&b'i') => (QueryKey::Limit, b"limit"),
        b'l' => (QueryKey::LabelSelector, b"labelSelector"),
        b't' => (QueryKey::TimeoutSeconds, b"timeoutSeconds"),
        _ => return None,
    };
    match bytes.strip_prefix(name)?.first() {
        None => Some((key, "")),
        Some(b'=') => Some((key, pair.get(name.len() + 1..).unwrap_or(""))),
        Some(_) => None,
    }
}

/// Which [`QueryKey`] a raw key names, comparing decoded keys as Go does.
fn query_key(raw: &str, escaped: bool) -> Option<QueryKey> {
    // Dispatch on the length first: each comparison is then of a known
    // length, which compiles to a couple of integer compares.
    let key = |name: &[u8]| match name.len() {
        5 if name == b"watch" => Some(QueryKey::Watch),
        5 if name == b"limit" => Some(QueryKey::Limit),
        13 if name == b"fieldSelector" => Some(QueryKey::FieldSelector),
        13 if name == b"labelSelector" => Some(QueryKey::LabelSelector),
        14 if name == b"timeoutSeconds" => Some(QueryKey::TimeoutSeconds),
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
                let value = escape_value(bytes, i);
                i += 3;
                Some(value)
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

/// Decodes a well-formed query component (`+` is a space); borrows when
/// nothing is encoded.
fn decode_component(raw: &str) -> Result<Cow<'_, str>, Error> {
    let bytes = raw.as_bytes();
    let Some(first) = bytes.iter().position(|&b| b == b'%' || b == b'+') else {
        return Ok(Cow::Borrowed(raw));
    };
    // Copy the literal runs whole; an escape that decodes to ASCII keeps the
    // string UTF-8, so only a non-ASCII one needs the validating route.
    let mut out = String::with_capacity(raw.len());
    let mut run = 0;
    let mut i = first;
    while let Some(&b) = bytes.get(i) {
        let (decoded, len) = match b {
            b'+' => (b' ', 1),
            b'%' => (escape_value(bytes, i), 3),
            _ => {
                i += 1;
                continue;
            }
        };
        if !decoded.is_ascii() {
            return decode_component_bytes(raw);
        }
        out.push_str(raw.get(run..i).unwrap_or(""));
        out.push(char::from(decoded));
        i += len;
        run = i;
    }
    out.push_str(raw.get(run..).unwrap_or(""));
    Ok(Cow::Owned(out))
}

/// The value of the (checked) escape at `i`.
fn escape_value(bytes: &[u8], i: usize) -> u8 {
    let hi = bytes.get(i + 1).copied().and_then(hex_value).unwrap_or(0);
    let lo = bytes.get(i + 2).copied().and_then(hex_value).unwrap_or(0);
    hi << 4 | lo
}

/// [`decode_component`] for a component with a non-ASCII escape, which
/// must be checked to be UTF-8.
#[cold]
fn decode_component_bytes(raw: &str) -> Result<Cow<'_, str>, Error> {
    let mut bytes = Vec::with_capacity(raw.len());
    bytes.extend(decoded_bytes(raw));
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

    /// Every string over `alphabet` of up to `max` symbols.
    fn strings(alphabet: &[&str], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |a| format!("{s}{a}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// The fast route of `Query::new` against the byte-by-byte scan, which
    /// handles every query on its own.
    #[test]
    fn query_routes_agree() {
        let l = Limits::default();
        let alphabet = [
            "&", "=", "w", "watch", "limit", "l", "%", "%6", "%61", "%3D", "+", ";", "#", "\t",
            "\u{e9}", "1",
        ];
        let mut queries = strings(&alphabet, 4);
        queries.extend(
            [
                "w%61tch=1&watch=2",
                "label+Selector=a&labelSelector=b+c",
                "fieldSelector=metadata.name%3Dweb&limit=5&timeoutSeconds=3",
                "labelSelector=kubesphere.io%2Fworkspace%3Dws1&watch=1",
                "timeoutSeconds&limit&watch&labelSelector&fieldSelector",
                "aaaaaaaaaaaaaaa%",
                "aaaaaaaaaaaaaaaaaaaaaa%4&watch=1",
                "watch=1&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;",
            ]
            .map(str::to_owned),
        );
        for q in &queries {
            assert_eq!(Query::new(q, &l), Query::scan(q), "{q:?}");
        }
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
