//! Tokenizing a decoded path into segments, with the segment rules.

use crate::error::{Error, TargetPart};
use crate::target::{CLASS, FORBIDDEN, PERCENT, forbidden, trim_one_trailing_slash};

/// How many segments [`Segments`] records up front: more than the deepest
/// structural position the parse inspects (2 cluster + 1 prefix + 1 group +
/// 1 version + 1 verb + 2 workspace + 2 namespace + 3 parts = 13).
const RECORDED: usize = 16;

/// A cursor over the segments of a decoded path, tokenized once.
#[derive(Clone, Copy)]
pub(crate) struct Segments<'p> {
    /// The segments joined by `/`, without leading or trailing slash.
    path: &'p str,
    /// `(start, end)` offsets in `path` of the first `recorded` segments.
    bounds: [(u32, u32); RECORDED],
    recorded: usize,
    /// Offset in `path` of the first unrecorded segment, if any.
    more_at: Option<usize>,
    /// Index of the current first segment.
    pos: usize,
}

/// Paths are bounded by `Limits::max_path_len`; a `usize` that does not fit
/// saturates, which can only happen with a limit over 4 GiB.
fn offset(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn check(seg: &[u8]) -> Result<(), Error> {
    match seg {
        b"" => Err(Error::EmptySegment),
        b"." | b".." => Err(Error::DotSegment),
        _ => Ok(()),
    }
}

impl<'p> Segments<'p> {
    /// Tokenizes a raw, still-encoded path in the same pass that checks its
    /// bytes (the rules of [`crate::target`]). Returns `Ok(None)` at the first
    /// `%`: the path must then be decoded and [`Segments::parse`]d.
    pub(crate) fn scan_raw(path: &'p str) -> Result<Option<Self>, Error> {
        if !path.is_empty() && !path.starts_with('/') {
            return Err(Error::NotAbsolutePath);
        }
        Self::tokenize::<true>(path)
    }

    /// Tokenizes a decoded path (empty, or starting with `/`; one trailing
    /// slash is ignored) and rejects empty (`//`) and dot segments, which we
    /// never normalize: a proxied backend might normalize differently.
    pub(crate) fn parse(path: &'p str) -> Result<Self, Error> {
        Self::tokenize::<false>(path).map(|s| s.unwrap_or_else(|| Segments::empty("")))
    }

    fn empty(path: &'p str) -> Self {
        Segments {
            path,
            bounds: [(0, 0); RECORDED],
            recorded: 0,
            more_at: None,
            pos: 0,
        }
    }

    /// One pass: segment boundaries, the segment rules, and with `RAW` the
    /// byte rules of a still-encoded path (`None` when it holds an escape).
    fn tokenize<const RAW: bool>(path: &'p str) -> Result<Option<Self>, Error> {
        let trimmed = trim_one_trailing_slash(path);
        let inner = trimmed.get(1..).unwrap_or("");
        let mut s = Segments::empty(inner);
        if inner.is_empty() {
            // `/` alone; `//` trims to `/` and so has an empty segment.
            if path.len() > 1 {
                return Err(Error::EmptySegment);
            }
            return Ok(Some(s));
        }
        let bytes = inner.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'/' {
                check(&bytes[start..i])?;
                s.record(start, i);
                start = i + 1;
            } else if RAW {
                match CLASS[b as usize] {
                    PERCENT => return Ok(None),
                    FORBIDDEN => return Err(forbidden(b, TargetPart::Path)),
                    _ => {}
                }
            }
        }
        check(&bytes[start..])?;
        s.record(start, bytes.len());
        Ok(Some(s))
    }

    fn record(&mut self, start: usize, end: usize) {
        if self.recorded < RECORDED {
            self.bounds[self.recorded] = (offset(start), offset(end));
            self.recorded += 1;
        } else if self.more_at.is_none() {
            self.more_at = Some(start);
        }
    }

    /// The segments from the cursor on, joined by `/`.
    pub(crate) fn rest(&self) -> &'p str {
        if self.pos < self.recorded {
            return &self.path[self.bounds[self.pos].0 as usize..];
        }
        let Some(more_at) = self.more_at else {
            return "";
        };
        // Past the recorded segments: walk on from the first unrecorded one.
        let skip = self.pos - self.recorded;
        self.path[more_at..]
            .splitn(skip + 1, '/')
            .nth(skip)
            .unwrap_or("")
    }

    /// The `i`-th segment from the cursor.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'p str> {
        let idx = self.pos + i;
        if idx < self.recorded {
            let (start, end) = self.bounds[idx];
            return Some(&self.path[start as usize..end as usize]);
        }
        self.more_at?;
        self.unrecorded(idx)
    }

    /// Segment `idx` when it lies past the recorded ones (paths of more than
    /// 16 segments, beyond anything the parse inspects).
    #[cold]
    fn unrecorded(&self, idx: usize) -> Option<&'p str> {
        let rest = Segments { pos: idx, ..*self }.rest();
        (!rest.is_empty()).then(|| rest.split('/').next().unwrap_or(rest))
    }

    /// The segment at the cursor.
    #[inline]
    pub(crate) fn first(&self) -> Option<&'p str> {
        self.get(0)
    }

    /// Whether at least `n` segments remain.
    #[inline]
    pub(crate) fn at_least(&self, n: usize) -> bool {
        n == 0 || self.get(n - 1).is_some()
    }

    /// Moves the cursor `n` segments on.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Segments<'_> {
        Segments::parse(p).unwrap()
    }

    #[test]
    fn cursor() {
        let mut s = segs("/a/b/c");
        assert!(s.at_least(3) && !s.at_least(4));
        assert_eq!(s.get(2), Some("c"));
        assert_eq!(s.get(3), None);
        s.advance(2);
        assert_eq!(s.rest(), "c");
        assert_eq!(s.first(), Some("c"));
        s.advance(5);
        assert_eq!(s.rest(), "");
        for empty in ["", "/"] {
            let e = segs(empty);
            assert!(!e.at_least(1));
            assert_eq!(e.first(), None);
            assert_eq!(e.rest(), "");
        }
        assert_eq!(segs("/a/b/").rest(), "a/b");
    }

    #[test]
    fn rules() {
        assert_eq!(Segments::parse("//").err(), Some(Error::EmptySegment));
        assert_eq!(Segments::parse("//a").err(), Some(Error::EmptySegment));
        assert_eq!(Segments::parse("/a//b").err(), Some(Error::EmptySegment));
        assert_eq!(Segments::parse("/a//").err(), Some(Error::EmptySegment));
        assert_eq!(Segments::parse("/a/./b").err(), Some(Error::DotSegment));
        assert_eq!(Segments::parse("/a/..").err(), Some(Error::DotSegment));
        assert_eq!(Segments::parse("/..").err(), Some(Error::DotSegment));
        assert!(Segments::parse("/a/.b/..c/...").is_ok());
        // Past the recorded segments the rules still hold.
        let deep = format!("/{}//x", vec!["s"; 40].join("/"));
        assert_eq!(Segments::parse(&deep).err(), Some(Error::EmptySegment));
        let deep = format!("/{}/..", vec!["s"; 40].join("/"));
        assert_eq!(Segments::parse(&deep).err(), Some(Error::DotSegment));
    }

    #[test]
    fn beyond_the_recorded_segments() {
        let words: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let path = format!("/{}", words.join("/"));
        for pos in 0..42 {
            let mut s = segs(&path);
            s.advance(pos);
            let want_rest = words.get(pos..).map(|w| w.join("/")).unwrap_or_default();
            assert_eq!(s.rest(), want_rest, "pos {pos}");
            for i in 0..3 {
                assert_eq!(
                    s.get(i),
                    words.get(pos + i).map(String::as_str),
                    "pos {pos} i {i}"
                );
            }
            assert_eq!(s.at_least(3), pos + 3 <= words.len());
        }
    }
}
