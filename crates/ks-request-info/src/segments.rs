//! Tokenizing a path into segments, with the segment rules.

use crate::error::{Error, TargetPart};
use crate::target::{CLASS, FORBIDDEN, PERCENT, forbidden, trim_one_trailing_slash};

/// How many segments [`Segments`] records up front: more than the deepest
/// structural position the parse inspects (2 cluster + 1 prefix + 1 group +
/// 1 version + 1 verb + 2 workspace + 2 namespace + 3 parts = 13).
const RECORDED: usize = 16;

/// A cursor over the segments of a path, tokenized once.
///
/// Filled in place (it is a few hundred bytes, so it is never returned by
/// value): [`Segments::new`], then one of the tokenizers.
pub(crate) struct Segments<'p> {
    /// The segments joined by `/`, without leading or trailing slash.
    path: &'p str,
    /// The first [`RECORDED`] segments; `None` past the last one.
    segs: [Option<&'p str>; RECORDED],
    recorded: usize,
    /// Offset in `path` of the first unrecorded segment, if any.
    more_at: Option<usize>,
}

/// A position in [`Segments`]: small and `Copy`, so that a walk keeps it
/// in registers.
#[derive(Clone, Copy)]
pub(crate) struct Cursor<'s, 'p> {
    segments: &'s Segments<'p>,
    /// Index of the current first segment.
    pos: usize,
}

/// Byte classes of the fast tokenizer: a plain byte, `/`, `?`, or a byte
/// that needs the careful tokenizer (`%`, `#`, control characters).
const PLAIN: u8 = 0;
const SLASH: u8 = 1;
const QUESTION: u8 = 2;
const SLOW: u8 = 3;

const fn fast_classes() -> [u8; 256] {
    let mut table = [PLAIN; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match CLASS[b] {
            PERCENT | FORBIDDEN => SLOW,
            _ if b == b'/' as usize => SLASH,
            _ if b == b'?' as usize => QUESTION,
            _ => PLAIN,
        };
        b += 1;
    }
    table
}

static FAST: [u8; 256] = fast_classes();

/// Whether [`check`] passes `seg`, cheaply: not empty, not `.` or `..`.
#[inline]
fn is_plain_segment(seg: &str) -> bool {
    !matches!(seg.as_bytes(), [] | [b'.'] | [b'.', b'.'])
}

fn check(seg: &[u8]) -> Result<(), Error> {
    match seg {
        b"" => Err(Error::EmptySegment),
        b"." | b".." => Err(Error::DotSegment),
        _ => Ok(()),
    }
}

impl<'p> Segments<'p> {
    /// No segments.
    pub(crate) fn new() -> Self {
        Segments {
            path: "",
            segs: [None; RECORDED],
            recorded: 0,
            more_at: None,
        }
    }

    /// The common case in one tight pass over a target that is empty or
    /// starts with `/`: tokenizes the path, which ends at the first `?` when
    /// `STOP_AT_QUERY`, and returns its length. `None` when the path holds
    /// an empty or dot segment or, with `RAW`, a byte that is an escape or
    /// an error (`%`, `#`, control characters): the careful tokenizer then
    /// finds the first problem, after a [`Segments::new`].
    #[inline]
    pub(crate) fn split_clean<const RAW: bool, const STOP_AT_QUERY: bool>(
        &mut self,
        target: &'p str,
    ) -> Option<usize> {
        let bytes = target.as_bytes();
        let Some(rest) = bytes.get(1..) else {
            return Some(0);
        };
        let mut start = 1;
        let mut end = bytes.len();
        // The count of recorded segments, kept in a register.
        let mut recorded = 0;
        for (i, &b) in rest.iter().enumerate() {
            match FAST[b as usize] {
                PLAIN => {}
                SLASH => {
                    let slash = i + 1;
                    let seg = target.get(start..slash).unwrap_or("");
                    if seg.len() <= 2 && !is_plain_segment(seg) {
                        return None;
                    }
                    if let Some(slot) = self.segs.get_mut(recorded) {
                        *slot = Some(seg);
                        recorded += 1;
                    } else if self.more_at.is_none() {
                        self.more_at = Some(start - 1);
                    }
                    start = slash + 1;
                }
                QUESTION if STOP_AT_QUERY => {
                    end = i + 1;
                    break;
                }
                QUESTION => {}
                _ if RAW => return None,
                _ => {}
            }
        }
        self.recorded = recorded;
        // One trailing slash is ignored; `//` at the end was an empty
        // segment above.
        if start < end {
            let seg = target.get(start..end).unwrap_or("");
            if seg.len() <= 2 && !is_plain_segment(seg) {
                return None;
            }
            self.record(seg, start - 1);
            self.path = target.get(1..end).unwrap_or("");
        } else {
            self.path = target.get(1..end - 1).unwrap_or("");
        }
        Some(end)
    }

    /// Tokenizes a raw, still-encoded path (the whole of it) and checks its
    /// bytes (the rules of [`crate::target`]) in the same pass. Returns
    /// `Ok(false)` when the path holds an escape: it must then be decoded
    /// and [`Segments::parse`]d.
    pub(crate) fn scan_raw(&mut self, path: &'p str) -> Result<bool, Error> {
        if !path.is_empty() && !path.starts_with('/') {
            return Err(Error::NotAbsolutePath);
        }
        if self.split_clean::<true, false>(path).is_some() {
            return Ok(true);
        }
        *self = Segments::new();
        self.tokenize::<true>(path)
    }

    /// Tokenizes a decoded path (empty, or starting with `/`; one trailing
    /// slash is ignored) and rejects empty (`//`) and dot segments, which we
    /// never normalize: a proxied backend might normalize differently.
    pub(crate) fn parse(&mut self, path: &'p str) -> Result<(), Error> {
        if !path.is_empty() && !path.starts_with('/') {
            return Err(Error::NotAbsolutePath);
        }
        if self.split_clean::<false, false>(path).is_some() {
            return Ok(());
        }
        *self = Segments::new();
        self.tokenize::<false>(path).map(|_| ())
    }

    /// The careful tokenizer: segment boundaries, the segment rules, and
    /// with `RAW` the byte rules of a still-encoded path, reporting the
    /// first problem (`Ok(false)` at the first escape).
    #[cold]
    fn tokenize<const RAW: bool>(&mut self, path: &'p str) -> Result<bool, Error> {
        let trimmed = trim_one_trailing_slash(path);
        let inner = trimmed.get(1..).unwrap_or("");
        if inner.is_empty() {
            // `/` alone; `//` trims to `/` and so has an empty segment.
            if path.len() > 1 {
                return Err(Error::EmptySegment);
            }
            return Ok(true);
        }
        self.path = inner;
        let bytes = inner.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'/' {
                check(&bytes[start..i])?;
                self.record(&inner[start..i], start);
                start = i + 1;
            } else if RAW {
                match CLASS[b as usize] {
                    PERCENT => return Ok(false),
                    FORBIDDEN => return Err(forbidden(b, TargetPart::Path)),
                    _ => {}
                }
            }
        }
        check(&bytes[start..])?;
        self.record(&inner[start..], start);
        Ok(true)
    }

    /// Records segment `seg`, which starts at `offset` in the joined path.
    #[inline]
    fn record(&mut self, seg: &'p str, offset: usize) {
        if let Some(slot) = self.segs.get_mut(self.recorded) {
            *slot = Some(seg);
            self.recorded += 1;
        } else if self.more_at.is_none() {
            self.more_at = Some(offset);
        }
    }

    /// A cursor at the first segment.
    pub(crate) fn cursor(&self) -> Cursor<'_, 'p> {
        Cursor {
            segments: self,
            pos: 0,
        }
    }
}

impl<'p> Cursor<'_, 'p> {
    /// The segments from the cursor on, joined by `/`.
    #[inline]
    pub(crate) fn rest(&self) -> &'p str {
        let s = self.segments;
        if let Some(seg) = s.segs.get(self.pos) {
            return match seg {
                // Offset of the segment within `path`.
                Some(seg) => s
                    .path
                    .get(seg.as_ptr() as usize - s.path.as_ptr() as usize..)
                    .unwrap_or(""),
                None => "",
            };
        }
        let Some(more_at) = s.more_at else {
            return "";
        };
        // Past the recorded segments: walk on from the first unrecorded one.
        let skip = self.pos - RECORDED;
        s.path[more_at..]
            .splitn(skip + 1, '/')
            .nth(skip)
            .unwrap_or("")
    }

    /// The `i`-th segment from the cursor.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'p str> {
        let idx = self.pos + i;
        match self.segments.segs.get(idx) {
            Some(seg) => *seg,
            None => self.unrecorded(idx),
        }
    }

    /// Segment `idx` when it lies past the recorded ones (paths of more than
    /// 16 segments, beyond anything the parse inspects).
    #[cold]
    fn unrecorded(&self, idx: usize) -> Option<&'p str> {
        let s = self.segments;
        let more_at = s.more_at?;
        let skip = idx - RECORDED;
        s.path[more_at..].split('/').nth(skip)
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
        let mut s = Segments::new();
        s.parse(p).unwrap();
        s
    }

    fn parse(p: &str) -> Result<(), Error> {
        Segments::new().parse(p)
    }

    #[test]
    fn cursor() {
        let all = segs("/a/b/c");
        let mut s = all.cursor();
        assert!(s.at_least(3) && !s.at_least(4));
        assert_eq!(s.get(2), Some("c"));
        assert_eq!(s.get(3), None);
        s.advance(2);
        assert_eq!(s.rest(), "c");
        assert_eq!(s.first(), Some("c"));
        s.advance(5);
        assert_eq!(s.rest(), "");
        for empty in ["", "/"] {
            let all = segs(empty);
            let e = all.cursor();
            assert!(!e.at_least(1));
            assert_eq!(e.first(), None);
            assert_eq!(e.rest(), "");
        }
        assert_eq!(segs("/a/b/").cursor().rest(), "a/b");
    }

    /// The one-pass tokenizer against the careful one wherever it takes a
    /// path, over every short path of a small alphabet.
    #[test]
    fn tokenizers_agree() {
        let alphabet = ["/", ".", "a", "bc", "%", "#", "?", "\t", "\u{e9}"];
        let mut paths = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |a| format!("{s}{a}")))
                .collect();
            paths.extend(last.iter().filter(|p| p.starts_with('/')).cloned());
        }
        paths.push(format!("/{}", vec!["s"; 40].join("/")));
        paths.push(format!("/{}/", vec!["ab"; 17].join("/")));
        for path in &paths {
            for raw in [true, false] {
                let mut fast = Segments::new();
                let took = if raw {
                    fast.split_clean::<true, false>(path)
                } else {
                    fast.split_clean::<false, false>(path)
                };
                let Some(end) = took else { continue };
                assert_eq!(end, path.len(), "{path:?}");
                let mut careful = Segments::new();
                let result = if raw {
                    careful.tokenize::<true>(path)
                } else {
                    careful.tokenize::<false>(path)
                };
                assert_eq!(result, Ok(true), "{path:?} {raw}");
                assert_eq!(fast.path, careful.path, "{path:?}");
                assert_eq!(fast.segs, careful.segs, "{path:?}");
                assert_eq!(fast.recorded, careful.recorded, "{path:?}");
                assert_eq!(fast.more_at, careful.more_at, "{path:?}");
            }
            // Stopping at `?` takes the path before it.
            let mut fast = Segments::new();
            if let Some(end) = fast.split_clean::<true, true>(path) {
                let before = &path[..path.find('?').unwrap_or(path.len())];
                assert_eq!(end, before.len(), "{path:?}");
                let mut whole = Segments::new();
                assert!(
                    whole.split_clean::<true, false>(before).is_some(),
                    "{path:?}"
                );
                assert_eq!((fast.path, fast.segs), (whole.path, whole.segs), "{path:?}");
            }
        }
    }

    #[test]
    fn rules() {
        assert_eq!(parse("//").err(), Some(Error::EmptySegment));
        assert_eq!(parse("//a").err(), Some(Error::EmptySegment));
        assert_eq!(parse("/a//b").err(), Some(Error::EmptySegment));
        assert_eq!(parse("/a//").err(), Some(Error::EmptySegment));
        assert_eq!(parse("/a/./b").err(), Some(Error::DotSegment));
        assert_eq!(parse("/a/..").err(), Some(Error::DotSegment));
        assert_eq!(parse("/..").err(), Some(Error::DotSegment));
        assert!(parse("/a/.b/..c/...").is_ok());
        // Past the recorded segments the rules still hold.
        let deep = format!("/{}//x", vec!["s"; 40].join("/"));
        assert_eq!(parse(&deep).err(), Some(Error::EmptySegment));
        let deep = format!("/{}/..", vec!["s"; 40].join("/"));
        assert_eq!(parse(&deep).err(), Some(Error::DotSegment));
    }

    #[test]
    fn beyond_the_recorded_segments() {
        let words: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let path = format!("/{}", words.join("/"));
        for pos in 0..42 {
            let all = segs(&path);
            let mut s = all.cursor();
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
