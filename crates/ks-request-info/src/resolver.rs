//! [`Resolver`]: the configured parser.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::info::{Parts, RequestInfo, ResourceScope};
use crate::selector::{FieldSelector, LabelSelector, is_valid_path_segment_name};
use crate::target::{
    Limits, Query, QueryKey, decode_path, is_valid_method, split_target, trim_one_trailing_slash,
};

/// The label KubeSphere puts on a namespace to place it in a workspace.
pub const WORKSPACE_LABEL: &str = "kubesphere.io/workspace";

/// A watch whose label selector starts with this is scoped to that workspace.
const WORKSPACE_SELECTOR_PREFIX: &str = "kubesphere.io/workspace=";

/// Path verbs: `/api/v1/watch/...`, `/api/v1/proxy/...`.
const SPECIAL_VERBS: [&str; 2] = ["watch", "proxy"];

/// Namespace subresources, which keep `namespaces/{ns}/{sub}` as the parts.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

/// A `group/resource` pair; the core group is the empty string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group, empty for the core group.
    pub group: String,
    /// Resource (plural), e.g. `users`.
    pub resource: String,
}

impl GroupResource {
    /// A pair from its parts.
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        GroupResource {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.group, self.resource)
    }
}

impl FromStr for GroupResource {
    type Err = Error;

    /// Parses `group/resource` (`/resource` for the core group).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.split_once('/') {
            Some((group, resource))
                if !resource.is_empty()
                    && !resource.contains('/')
                    && !group.contains(char::is_whitespace)
                    && !resource.contains(char::is_whitespace) =>
            {
                Ok(GroupResource::new(group, resource))
            }
            _ => Err(Error::InvalidGroupResource(s.to_owned())),
        }
    }
}

/// Settings of a [`Resolver`]; [`Default`] gives KubeSphere's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    /// First path segments that start an API path. Default
    /// `api, apis, kapis, kapi`.
    pub api_prefixes: Vec<String>,
    /// Prefixes whose paths carry no group segment. Default `api, kapi`.
    pub groupless_prefixes: Vec<String>,
    /// Resources that live at Global scope. Default: users, global roles and
    /// their bindings (iam.kubesphere.io), workspaces and workspace templates
    /// (tenant.kubesphere.io), clusters (cluster.kubesphere.io).
    pub global_resources: Vec<GroupResource>,
    /// Size bounds on the request target.
    pub limits: Limits,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        let strings = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect();
        ResolverConfig {
            api_prefixes: strings(&["api", "apis", "kapis", "kapi"]),
            groupless_prefixes: strings(&["api", "kapi"]),
            global_resources: [
                ("iam.kubesphere.io", "users"),
                ("iam.kubesphere.io", "globalroles"),
                ("iam.kubesphere.io", "globalrolebindings"),
                ("tenant.kubesphere.io", "workspaces"),
                ("tenant.kubesphere.io", "workspacetemplates"),
                ("cluster.kubesphere.io", "clusters"),
            ]
            .into_iter()
            .map(|(g, r)| GroupResource::new(g, r))
            .collect(),
            limits: Limits::default(),
        }
    }
}

/// Turns request targets into [`RequestInfo`]s. Build once, share freely:
/// parsing takes `&self` and keeps no state.
#[derive(Debug, Clone)]
pub struct Resolver {
    api_prefixes: Box<[Box<str>]>,
    groupless_prefixes: Box<[Box<str>]>,
    global_resources: Box<[(Box<str>, Box<str>)]>,
    limits: Limits,
}

impl Default for Resolver {
    fn default() -> Self {
        // The default configuration is valid by construction.
        Resolver::from_valid(ResolverConfig::default())
    }
}

/// A parse that failed, with what was known before the failure, as
/// Kubernetes' `NewRequestInfo` returns both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure<'a> {
    /// What went wrong.
    pub error: Error,
    /// The fields resolved before the failure.
    pub partial: RequestInfo<'a>,
}

impl ParseFailure<'_> {
    /// Detaches from the input.
    pub fn into_owned(self) -> ParseFailure<'static> {
        ParseFailure {
            error: self.error,
            partial: self.partial.into_owned(),
        }
    }
}

impl fmt::Display for ParseFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for ParseFailure<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The result of a parse. The failure is boxed: it is rare, and keeping it
/// small keeps the success path cheap to move.
pub type ParseResult<'a> = Result<RequestInfo<'a>, Box<ParseFailure<'a>>>;

fn is_segment(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '?', '#'])
}

impl Resolver {
    /// A resolver with `config`, which is checked: prefixes must be single,
    /// non-empty path segments.
    pub fn new(config: ResolverConfig) -> Result<Self, Error> {
        for p in config.api_prefixes.iter().chain(&config.groupless_prefixes) {
            if !is_segment(p) {
                return Err(Error::InvalidPrefix(p.clone()));
            }
        }
        for gr in &config.global_resources {
            if gr.group.contains('/') || !is_segment(&gr.resource) {
                return Err(Error::InvalidGroupResource(gr.to_string()));
            }
        }
        Ok(Resolver::from_valid(config))
    }

    fn from_valid(config: ResolverConfig) -> Self {
        let boxed = |v: Vec<String>| v.into_iter().map(String::into_boxed_str).collect();
        Resolver {
            api_prefixes: boxed(config.api_prefixes),
            groupless_prefixes: boxed(config.groupless_prefixes),
            global_resources: config
                .global_resources
                .into_iter()
                .map(|gr| (gr.group.into_boxed_str(), gr.resource.into_boxed_str()))
                .collect(),
            limits: config.limits,
        }
    }

    /// Parses `method` and a request target (`/path?query`, or an
    /// absolute `http(s)://host/path?query` URL).
    ///
    /// Borrows from the inputs; allocates only when the path or a selector
    /// had to be percent-decoded, or on failure.
    pub fn parse<'a>(&self, method: &'a str, target: &'a str) -> ParseResult<'a> {
        let (path, query) = split_absolute_target(target);
        self.parse_parts(method, path, query)
    }

    /// Parses an [`http::Method`] and [`http::Uri`].
    pub fn parse_uri<'a>(&self, method: &'a http::Method, uri: &'a http::Uri) -> ParseResult<'a> {
        let path = uri.path();
        // An origin-form URI always has a path; `*` and authority-form don't.
        let path = if path.is_empty() && uri.authority().is_some() {
            "/"
        } else {
            path
        };
        self.parse_parts(method.as_str(), path, uri.query().unwrap_or(""))
    }

    /// Parses an [`http::Request`]'s method and URI.
    pub fn parse_request<'a, B>(&self, request: &'a http::Request<B>) -> ParseResult<'a> {
        self.parse_uri(request.method(), request.uri())
    }

    /// Parses a raw path (still percent-encoded) and a raw query (without `?`).
    pub fn parse_parts<'a>(
        &self,
        method: &'a str,
        path: &'a str,
        query: &'a str,
    ) -> ParseResult<'a> {
        let fail = |error: Error| {
            Box::new(ParseFailure {
                error,
                partial: RequestInfo {
                    path: Cow::Borrowed(path),
                    verb: Cow::Borrowed(method),
                    ..RequestInfo::default()
                },
            })
        };
        if !is_valid_method(method) {
            return Err(fail(Error::InvalidMethod(method.to_owned())));
        }
        let decoded = decode_path(path, &self.limits).map_err(fail)?;
        let query = Query::new(query, &self.limits).map_err(fail)?;
        match decoded {
            Cow::Borrowed(p) => self.resolve(method, p, path, query),
            Cow::Owned(p) => self
                .resolve(method, &p, path, query)
                .map(RequestInfo::into_owned)
                .map_err(|f| Box::new(f.into_owned())),
        }
    }

    fn is_api_prefix(&self, s: &str) -> bool {
        self.api_prefixes.iter().any(|p| **p == *s)
    }

    fn is_groupless(&self, s: &str) -> bool {
        self.groupless_prefixes.iter().any(|p| **p == *s)
    }

    fn is_global(&self, group: &str, resource: &str) -> bool {
        self.global_resources
            .iter()
            .any(|(g, r)| **r == *resource && **g == *group)
    }

    /// The scope whose bindings apply (KubeSphere's `resolveResourceScope`).
    fn scope(&self, info: &RequestInfo<'_>) -> ResourceScope {
        if self.is_global(&info.api_group, &info.resource) {
            // e.g. GET /apis/tenant.kubesphere.io/v1beta1/workspaces/{ws}
            if info.workspace.is_empty() {
                ResourceScope::Global
            } else {
                ResourceScope::Workspace
            }
        } else if !info.namespace.is_empty() {
            ResourceScope::Namespace
        } else if !info.workspace.is_empty() {
            ResourceScope::Workspace
        } else {
            ResourceScope::Cluster
        }
    }

    /// The parse proper, over a decoded, validated path `p`. `raw_path` is
    /// only used in error messages.
    fn resolve<'a>(
        &self,
        method: &'a str,
        p: &'a str,
        raw_path: &str,
        query: Query<'a>,
    ) -> ParseResult<'a> {
        let mut info = RequestInfo {
            path: Cow::Borrowed(p),
            verb: Cow::Borrowed(method),
            ..RequestInfo::default()
        };
        let result = self.fill(&mut info, method, p, raw_path, &query);
        info.is_kubernetes_request = is_kubernetes_request(&info);
        match result {
            Ok(()) => Ok(info),
            Err(error) => Err(Box::new(ParseFailure {
                error,
                partial: info,
            })),
        }
    }

    /// Fills `info` in place; on error, `info` holds what was known before
    /// the failure, as Kubernetes returns it.
    fn fill<'a>(
        &self,
        info: &mut RequestInfo<'a>,
        method: &'a str,
        p: &'a str,
        raw_path: &str,
        query: &Query<'a>,
    ) -> Result<(), Error> {
        let trimmed = trim_one_trailing_slash(p);
        let mut cur = Segments::new(trimmed.get(1..).unwrap_or(""));

        if !cur.at_least(3) {
            return Ok(());
        }

        // /clusters/{cluster}/...: the member cluster sees the rest.
        if cur.first() == Some("clusters") {
            let cluster = cur.get(1).unwrap_or("");
            info.cluster = Cow::Borrowed(cluster);
            info.path = Cow::Borrowed(&p["/clusters/".len() + cluster.len()..]);
            cur.advance(2);
        }

        let Some(prefix) = cur.first().filter(|s| self.is_api_prefix(s)) else {
            return Ok(());
        };
        info.api_prefix = Cow::Borrowed(prefix);
        cur.advance(1);

        // Legacy form: /{prefix}/clusters/{cluster}/...
        if cur.first() == Some("clusters") {
            if !info.cluster.is_empty() {
                return Err(Error::AmbiguousCluster {
                    outer: info.cluster.clone().into_owned(),
                    prefix: prefix.to_owned(),
                });
            }
            if let Some(cluster) = cur.get(1) {
                info.cluster = Cow::Borrowed(cluster);
                // Offset of the cluster segment's end within `p`.
                let behind = cluster.as_ptr() as usize - p.as_ptr() as usize + cluster.len();
                info.path = Cow::Owned(format!("/{prefix}{}", &p[behind..]));
                cur.advance(2);
            }
        }

        if self.is_groupless(prefix) {
            if !cur.at_least(2) {
                return Ok(());
            }
        } else {
            if !cur.at_least(3) {
                return Ok(());
            }
            info.api_group = Cow::Borrowed(cur.first().unwrap_or(""));
            cur.advance(1);
        }

        info.is_resource_request = true;
        info.api_version = Cow::Borrowed(cur.first().unwrap_or(""));
        cur.advance(1);

        let mut verb_in_path = false;
        match cur.first() {
            Some(v) if SPECIAL_VERBS.contains(&v) => {
                if !cur.at_least(2) {
                    return Err(Error::MissingResource {
                        url: raw_path.to_owned(),
                    });
                }
                info.verb = Cow::Borrowed(v);
                verb_in_path = true;
                cur.advance(1);
            }
            _ => info.verb = Cow::Borrowed(method_verb(method)),
        }

        // /workspaces/{ws}/... and /workspacetemplates/{ws}/...
        if matches!(cur.first(), Some("workspaces" | "workspacetemplates")) {
            if let Some(ws) = cur.get(1) {
                info.workspace = Cow::Borrowed(ws);
            }
            if cur.at_least(3) {
                cur.advance(2);
            }
        }

        // /namespaces/{ns}/{resource}/...; a namespace subresource keeps
        // `namespaces` as the resource.
        if cur.first() == Some("namespaces")
            && let Some(ns) = cur.get(1)
        {
            info.namespace = Cow::Borrowed(ns);
            if cur
                .get(2)
                .is_some_and(|s| !NAMESPACE_SUBRESOURCES.contains(&s))
            {
                cur.advance(2);
            }
        }

        // resource/name/subresource/anything/else
        info.resource = Cow::Borrowed(cur.get(0).unwrap_or(""));
        info.name = Cow::Borrowed(cur.get(1).unwrap_or(""));
        if info.verb != "proxy" {
            info.subresource = Cow::Borrowed(cur.get(2).unwrap_or(""));
        }
        info.parts = Parts::new(Cow::Borrowed(cur.rest()));
        info.resource_scope = Some(self.scope(info));

        // A get without a name is a list or a watch.
        if info.name.is_empty() && info.verb == "get" {
            // Whether Kubernetes' ListOptions decoding succeeds matters only
            // for the name taken from the field selector and for one corner
            // of the watch flag (see `is_false`), so it is computed lazily.
            let mut decodes = None;
            let mut options_decode = || -> Result<bool, Error> {
                if decodes.is_none() {
                    decodes = Some(list_options_decode(query)?);
                }
                Ok(decodes == Some(true))
            };
            let is_watch = match query.get(QueryKey::Watch)? {
                None => false,
                Some(w) => !is_false(&w, !w.is_ascii() && options_decode()?),
            };
            info.verb = Cow::Borrowed(if is_watch { "watch" } else { "list" });
            if let Some(fs) = query.get(QueryKey::FieldSelector)?
                && options_decode()?
                && let Ok(Some(name)) = exact_name(fs)
                && is_valid_path_segment_name(&name)
            {
                info.name = name;
            }
        }

        // KubeSphere: a watch with `labelSelector=kubesphere.io/workspace=WS`
        // is scoped to that workspace.
        if info.verb == "watch"
            && let Some(selector) = query.get(QueryKey::LabelSelector)?
            && let Some(ws) = strip_prefix_cow(selector, WORKSPACE_SELECTOR_PREFIX)
        {
            info.workspace = ws;
            info.resource_scope = Some(ResourceScope::Workspace);
        }

        if info.name.is_empty() && info.verb == "delete" {
            info.verb = Cow::Borrowed("deletecollection");
        }

        // Kubernetes exposes selectors to authorizers for collection verbs,
        // except on the deprecated verb-in-path form.
        if !verb_in_path && matches!(&*info.verb, "list" | "watch" | "deletecollection") {
            info.field_selector = query.get(QueryKey::FieldSelector)?.unwrap_or_default();
            info.label_selector = query.get(QueryKey::LabelSelector)?.unwrap_or_default();
        }
        Ok(())
    }
}

/// KubeSphere's `isKubernetesRequest`: the `api`/`apis` prefixes, and the
/// one- and two-segment discovery paths under them (`/api`, `/apis/{group}`).
fn is_kubernetes_request(info: &RequestInfo<'_>) -> bool {
    let prefix: &str = if info.api_prefix.is_empty() {
        let trimmed = trim_one_trailing_slash(&info.path);
        let segs = Segments::new(trimmed.get(1..).unwrap_or(""));
        if segs.at_least(1) && !segs.at_least(3) {
            segs.first().unwrap_or("")
        } else {
            ""
        }
    } else {
        &info.api_prefix
    };
    matches!(prefix, "api" | "apis")
}

fn method_verb(method: &str) -> &'static str {
    match method {
        "POST" => "create",
        "GET" | "HEAD" => "get",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => "",
    }
}

/// Whether a `watch` value means false. Kubernetes has two rules: a
/// successful ListOptions decode uses `strings.EqualFold(v, "false")`, which
/// also folds `ſ` (U+017F) to `s`; the fallback after a failed decode uses
/// `strings.ToLower(v) == "false"`. `lenient` selects the first.
fn is_false(v: &str, lenient: bool) -> bool {
    if v == "0" || v.eq_ignore_ascii_case("false") {
        return true;
    }
    lenient
        && v.chars().count() == 5
        && v.chars()
            .zip("false".chars())
            .all(|(c, want)| c.eq_ignore_ascii_case(&want) || (want == 's' && c == '\u{17f}'))
}

/// Whether Kubernetes' `ListOptions` decoding of the query succeeds: the
/// selectors parse and `limit`/`timeoutSeconds` are 64-bit integers.
fn list_options_decode(query: &Query<'_>) -> Result<bool, Error> {
    if let Some(ls) = query.get(QueryKey::LabelSelector)?
        && LabelSelector::validate(&ls).is_err()
    {
        return Ok(false);
    }
    if let Some(fs) = query.get(QueryKey::FieldSelector)?
        && FieldSelector::validate(&fs).is_err()
    {
        return Ok(false);
    }
    for key in [QueryKey::Limit, QueryKey::TimeoutSeconds] {
        if let Some(v) = query.get(key)?
            && v.parse::<i64>().is_err()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The `metadata.name` a field selector requires, keeping the borrow.
fn exact_name(selector: Cow<'_, str>) -> Result<Option<Cow<'_, str>>, crate::SelectorError> {
    match selector {
        Cow::Borrowed(s) => FieldSelector::exact_match(s, "metadata.name"),
        Cow::Owned(s) => Ok(
            FieldSelector::exact_match(&s, "metadata.name")?.map(|n| Cow::Owned(n.into_owned()))
        ),
    }
}

fn strip_prefix_cow<'a>(s: Cow<'a, str>, prefix: &str) -> Option<Cow<'a, str>> {
    match s {
        Cow::Borrowed(b) => b.strip_prefix(prefix).map(Cow::Borrowed),
        Cow::Owned(o) => o.strip_prefix(prefix).map(|r| Cow::Owned(r.to_owned())),
    }
}

/// Splits a request target into raw path and query. The absolute form
/// `http(s)://authority/path?query` is accepted too, and its authority
/// dropped; an absent path reads as `/`.
fn split_absolute_target(target: &str) -> (&str, &str) {
    let rest = ["http://", "https://"].iter().find_map(|scheme| {
        target
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &target[scheme.len()..])
    });
    let Some(rest) = rest else {
        return split_target(target);
    };
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => split_target(&rest[i..]),
        Some(i) => ("/", &rest[i + 1..]),
        None => ("/", ""),
    }
}

/// `a/b/c` -> `a`. A byte loop: segments are short, and `str::find`'s
/// searcher costs more to set up than the scan.
fn first_segment(s: &str) -> &str {
    match s.bytes().position(|b| b == b'/') {
        Some(i) => &s[..i],
        None => s,
    }
}

/// How many segment offsets [`Segments`] records up front: more than the
/// deepest structural position the parse inspects (2 cluster + 1 prefix +
/// 1 group + 1 version + 1 verb + 2 workspace + 2 namespace + 3 parts = 13).
const RECORDED_SEGMENTS: usize = 16;

/// A cursor over path segments, tokenized once. `path` is the segments
/// joined by `/`, without leading or trailing slash; segments are never
/// empty (the target check rejects `//`).
struct Segments<'p> {
    path: &'p str,
    /// Start offsets of the first `recorded` segments.
    starts: [usize; RECORDED_SEGMENTS],
    recorded: usize,
    /// Whether `recorded` covers every segment.
    complete: bool,
    /// Index of the current first segment.
    pos: usize,
}

impl<'p> Segments<'p> {
    fn new(path: &'p str) -> Self {
        let mut s = Segments {
            path,
            starts: [0; RECORDED_SEGMENTS],
            recorded: 0,
            complete: true,
            pos: 0,
        };
        if path.is_empty() {
            return s;
        }
        s.recorded = 1;
        for (i, &b) in path.as_bytes().iter().enumerate() {
            if b == b'/' {
                if s.recorded == RECORDED_SEGMENTS {
                    s.complete = false;
                    break;
                }
                s.starts[s.recorded] = i + 1;
                s.recorded += 1;
            }
        }
        s
    }

    /// The segments from `pos` on, joined by `/`.
    fn rest(&self) -> &'p str {
        if self.pos < self.recorded {
            return &self.path[self.starts[self.pos]..];
        }
        if self.complete {
            return "";
        }
        // Past the recorded offsets: walk on from the last one.
        let last = &self.path[self.starts[self.recorded - 1]..];
        last.splitn(self.pos - self.recorded + 2, '/')
            .nth(self.pos - self.recorded + 1)
            .unwrap_or("")
    }

    fn get(&self, i: usize) -> Option<&'p str> {
        let idx = self.pos + i;
        if idx + 1 < self.recorded {
            return Some(&self.path[self.starts[idx]..self.starts[idx + 1] - 1]);
        }
        let rest = if idx < self.recorded {
            &self.path[self.starts[idx]..]
        } else if self.complete {
            return None;
        } else {
            Segments { pos: idx, ..*self }.rest()
        };
        (!rest.is_empty()).then(|| first_segment(rest))
    }

    fn first(&self) -> Option<&'p str> {
        self.get(0)
    }

    /// Whether at least `n` segments remain.
    fn at_least(&self, n: usize) -> bool {
        n == 0 || self.get(n - 1).is_some()
    }

    fn advance(&mut self, n: usize) {
        self.pos += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        let mut s = Segments::new("a/b/c");
        assert!(s.at_least(3) && !s.at_least(4));
        assert_eq!(s.get(2), Some("c"));
        assert_eq!(s.get(3), None);
        s.advance(2);
        assert_eq!(s.rest(), "c");
        assert_eq!(s.first(), Some("c"));
        s.advance(5);
        assert_eq!(s.rest(), "");
        assert!(!Segments::new("").at_least(1));
        assert_eq!(Segments::new("").first(), None);
        assert_eq!(Segments::new("").rest(), "");
    }

    #[test]
    fn segments_beyond_the_recorded_ones() {
        let words: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let path = words.join("/");
        for pos in 0..42 {
            let mut s = Segments::new(&path);
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

    #[test]
    fn false_values() {
        for v in ["0", "false", "FALSE", "False"] {
            assert!(is_false(v, false) && is_false(v, true), "{v}");
        }
        for v in ["1", "true", "", "f", "no", "falsee"] {
            assert!(!is_false(v, false) && !is_false(v, true), "{v}");
        }
        assert!(is_false("fal\u{17f}e", true));
        assert!(!is_false("fal\u{17f}e", false));
    }

    #[test]
    fn absolute_targets() {
        assert_eq!(split_absolute_target("/a"), ("/a", ""));
        assert_eq!(split_absolute_target("https://h:6443/a?b"), ("/a", "b"));
        assert_eq!(split_absolute_target("HTTP://h/a"), ("/a", ""));
        assert_eq!(split_absolute_target("http://h"), ("/", ""));
        assert_eq!(split_absolute_target("http://h?w=1"), ("/", "w=1"));
        assert_eq!(split_absolute_target("ftp://h/a"), ("ftp://h/a", ""));
    }

    #[test]
    fn group_resource() {
        assert_eq!(
            "iam.kubesphere.io/users".parse::<GroupResource>().unwrap(),
            GroupResource::new("iam.kubesphere.io", "users")
        );
        assert_eq!(
            "/secrets".parse::<GroupResource>().unwrap(),
            GroupResource::new("", "secrets")
        );
        for bad in ["users", "a/", "a/b/c", "a b/c"] {
            assert!(bad.parse::<GroupResource>().is_err(), "{bad}");
        }
    }

    #[test]
    fn config_is_checked() {
        let bad = ResolverConfig {
            api_prefixes: vec!["a/b".into()],
            ..ResolverConfig::default()
        };
        assert_eq!(
            Resolver::new(bad).unwrap_err(),
            Error::InvalidPrefix("a/b".into())
        );
        assert!(Resolver::new(ResolverConfig::default()).is_ok());
    }
}
