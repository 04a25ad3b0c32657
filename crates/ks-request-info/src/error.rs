//! The crate's error type.

use std::fmt;

/// Why a request target could not be turned into a [`RequestInfo`](crate::RequestInfo).
///
/// Parse errors are client errors (see [`Error::http_status`]); the
/// configuration errors come only from [`Resolver::new`](crate::Resolver::new)
/// and [`GroupResource`](crate::GroupResource) parsing. Messages never include
/// the query string, which may carry tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request target does not start with `/`.
    #[error("request path must start with '/'")]
    NotAbsolutePath,

    /// The path is longer than the resolver's limit.
    #[error("request path is {len} bytes long, over the limit of {max}")]
    PathTooLong {
        /// Length of the path in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },

    /// The query string is longer than the resolver's limit.
    #[error("query string is {len} bytes long, over the limit of {max}")]
    QueryTooLong {
        /// Length of the query in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },

    /// A `%` not followed by two hexadecimal digits.
    #[error("invalid percent-encoding at byte {offset} of the {part}")]
    InvalidPercentEncoding {
        /// Which part of the target: `path` or `query`.
        part: TargetPart,
        /// Byte offset of the `%` in that part.
        offset: usize,
    },

    /// `%2F` inside a path segment: the segment structure would depend on
    /// whether a backend decodes before or after splitting.
    #[error("encoded '/' (%2F) in a path segment is not allowed")]
    EncodedSlash,

    /// A control character (raw or percent-encoded) in the path, or a raw one
    /// in the query.
    #[error("control character 0x{byte:02x} in the {part}")]
    ControlCharacter {
        /// Which part of the target.
        part: TargetPart,
        /// The offending byte.
        byte: u8,
    },

    /// The authority of an absolute-form target (`http://AUTHORITY/...`)
    /// holds a character no authority may hold (`#`, space, control, ...).
    #[error("invalid authority in an absolute-form request target")]
    InvalidAuthority,

    /// A `#` in the request target; fragments are not part of an HTTP
    /// request target.
    #[error("'#' is not allowed in a request target")]
    Fragment,

    /// The path or a query component does not decode to UTF-8.
    #[error("the {part} does not decode to valid UTF-8")]
    NotUtf8 {
        /// Which part of the target.
        part: TargetPart,
    },

    /// An empty segment (`//`) in the path.
    #[error("empty segment ('//') in the path")]
    EmptySegment,

    /// A `.` or `..` segment (also when percent-encoded) in the path.
    #[error("dot segment ('.' or '..') in the path")]
    DotSegment,

    /// A `;` in the query: Go's `net/url` drops such pairs, other parsers
    /// split on it, so the meaning is ambiguous.
    #[error("';' is not allowed in the query string")]
    SemicolonInQuery,

    /// The HTTP method is not a valid token (RFC 9110, section 9.1).
    #[error("invalid HTTP method {0:?}")]
    InvalidMethod(String),

    /// A configured API prefix that is not a single, non-empty path segment.
    #[error("invalid API prefix {0:?}: must be one non-empty path segment")]
    InvalidPrefix(String),

    /// A global resource that is not `group/resource`.
    #[error(
        "invalid group/resource {0:?}: expected GROUP/RESOURCE (an empty group is the core group)"
    )]
    InvalidGroupResource(String),

    /// Both the `/clusters/{cluster}` prefix and the legacy
    /// `/{prefix}/clusters/{cluster}` form name a cluster.
    #[error("the cluster is given twice: '/clusters/{outer}' and '/{prefix}/clusters/...'")]
    AmbiguousCluster {
        /// Cluster named by the leading `/clusters/{cluster}` prefix.
        outer: String,
        /// The API prefix after it.
        prefix: String,
    },

    /// A special verb (`watch`, `proxy`) with nothing after it. The message is
    /// KubeSphere's.
    #[error("unable to determine kind and namespace from url: {url}")]
    MissingResource {
        /// The request target's path.
        url: String,
    },
}

impl Error {
    /// The HTTP status a server should answer with: 400 for a malformed
    /// request, 414 for an over-long path or query, 500 for a resolver
    /// misconfiguration (which never comes out of a parse).
    pub fn http_status(&self) -> u16 {
        match self {
            Error::PathTooLong { .. } | Error::QueryTooLong { .. } => 414,
            Error::InvalidPrefix(_) | Error::InvalidGroupResource(_) => 500,
            _ => 400,
        }
    }
}

/// The part of a request target an [`Error`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetPart {
    /// The path, before `?`.
    Path,
    /// The query string, after `?`.
    Query,
}

impl fmt::Display for TargetPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetPart::Path => "path",
            TargetPart::Query => "query",
        })
    }
}
