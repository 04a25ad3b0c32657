//! [`Resolver`]: the configured parser.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::info::{Parts, RequestInfo, ResourceScope};
use crate::segments::{Cursor, Segments};
use crate::selector::{FieldSelector, LabelSelector, is_valid_path_segment_name};
use crate::target::{
    Limits, Query, QueryKey, check_path_len, decode_path, is_valid_method, split_target,
    trim_one_trailing_slash,
};

/// The label KubeSphere puts on a namespace to place it in a workspace.
pub const WORKSPACE_LABEL: &str = "kubesphere.io/workspace";

/// A watch whose label selector starts with this is scoped to that workspace.
const WORKSPACE_SELECTOR_PREFIX: &str = "kubesphere.io/workspace=";

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
    global_resources: Box<[(Box<str>, Box<str>)]>,
    /// Bit `n` set when a global resource name is `n` bytes long (bit 63:
    /// 63 or more), so that most resources are ruled out at once.
    global_lengths: u64,
    limits: Limits,
    /// The API prefixes, each with whether it is groupless (one lookup
    /// answers both questions).
    prefix_kinds: Box<[(Box<str>, bool)]>,
    /// Whether `prefix_kinds` says what KubeSphere's default does, so that
    /// a `match` can answer instead.
    default_prefixes: bool,
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
        let prefix_kinds: Box<[(Box<str>, bool)]> = config
            .api_prefixes
            .iter()
            .map(|p| {
                let groupless = config.groupless_prefixes.contains(p);
                (p.clone().into_boxed_str(), groupless)
            })
            .collect();
        let global_lengths = config
            .global_resources
            .iter()
            .fold(0, |bits, gr| bits | length_bit(&gr.resource));
        let default_prefixes = ["api", "apis", "kapis", "kapi"]
            .iter()
            .all(|p| prefix_kind_in(&prefix_kinds, p) == default_prefix_kind(p))
            && prefix_kinds
                .iter()
                .all(|(p, _)| default_prefix_kind(p).is_some());
        Resolver {
            prefix_kinds,
            default_prefixes,
            global_lengths,
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
        // The common case: an origin-form target whose path needs no
        // decoding and breaks no rule, tokenized in the pass that finds `?`.
        if target.starts_with('/') && (method == "GET" || is_valid_method(method)) {
            let mut segments = Segments::new();
            if let Some(end) = segments.split_clean::<true, true>(target)
                && end <= self.limits.max_path_len
            {
                let path = &target[..end];
                let query = match target.get(end + 1..) {
                    None | Some("") => Query::EMPTY,
                    Some(query) => match Query::new(query, &self.limits) {
                        Ok(query) => query,
                        Err(error) => return Err(early_failure(error, method, path)),
                    },
                };
                return self.fill(method, path, &segments, path, &query);
            }
        }
        match split_absolute_target(target) {
            Ok((path, query)) => self.parse_parts(method, path, query),
            Err(error) => Err(early_failure(error, method, target)),
        }
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
        let early = |error| Err(early_failure(error, method, path));
        if !is_valid_method(method) {
            return early(Error::InvalidMethod(method.to_owned()));
        }
        if let Err(error) = check_path_len(path, &self.limits) {
            return early(error);
        }
        let query = if query.is_empty() {
            Query::EMPTY
        } else {
            match Query::new(query, &self.limits) {
                Ok(query) => query,
                Err(error) => return early(error),
            }
        };
        // The common case: nothing to decode, one pass over the path.
        let mut segments = Segments::new();
        match segments.scan_raw(path) {
            Ok(true) => self.fill(method, path, &segments, path, &query),
            Ok(false) => self.parse_decoded(method, path, &query),
            Err(error) => early(error),
        }
    }

    /// The path holds escapes: parse the decoded copy, then detach.
    #[cold]
    fn parse_decoded<'a>(
        &self,
        method: &'a str,
        path: &'a str,
        query: &Query<'a>,
    ) -> ParseResult<'a> {
        let decoded = match decode_path(path, &self.limits) {
            Ok(decoded) => decoded,
            Err(error) => return Err(early_failure(error, method, path)),
        };
        let mut segments = Segments::new();
        if let Err(error) = segments.parse(&decoded) {
            return Err(early_failure(error, method, path));
        }
        self.fill(method, &decoded, &segments, path, query)
            .map(RequestInfo::into_owned)
            .map_err(|failure| Box::new(failure.into_owned()))
    }

    /// Whether `s` is an API prefix, and if so whether it is groupless.
    #[inline]
    fn prefix_kind(&self, s: &str) -> Option<bool> {
        if self.default_prefixes {
            return default_prefix_kind(s);
        }
        prefix_kind_in(&self.prefix_kinds, s)
    }

    fn is_global(&self, group: &str, resource: &str) -> bool {
        if self.global_lengths & length_bit(resource) == 0 {
            return false;
        }
        self.global_resources.iter().any(|(g, r)| {
            r.len() == resource.len() && g.len() == group.len() && **r == *resource && **g == *group
        })
    }

    /// The scope whose bindings apply (KubeSphere's `resolveResourceScope`).
    fn scope(&self, w: &Walk<'_>) -> ResourceScope {
        if self.is_global(w.api_group, w.resource) {
            // e.g. GET /apis/tenant.kubesphere.io/v1beta1/workspaces/{ws}
            if w.workspace.is_empty() {
                ResourceScope::Global
            } else {
                ResourceScope::Workspace
            }
        } else if !w.namespace.is_empty() {
            ResourceScope::Namespace
        } else if !w.workspace.is_empty() {
            ResourceScope::Workspace
        } else {
            ResourceScope::Cluster
        }
    }

    /// The parse proper, over a decoded path `p` and its segments.
    fn fill<'a>(
        &self,
        method: &'a str,
        p: &'a str,
        segments: &Segments<'a>,
        raw_path: &str,
        query: &Query<'a>,
    ) -> ParseResult<'a> {
        let mut w = Walk::new(method, p);
        let verb_in_path = match self.walk(&mut w, method, p, segments.cursor(), raw_path) {
            Ok(Some(verb_in_path)) => verb_in_path,
            // Not a resource request: the query plays no part.
            Ok(None) => return Ok(w.into_info()),
            Err(error) => return Err(w.failure(error)),
        };

        if query.is_empty() {
            // The usual request: nothing in the query to look at.
            if w.name.is_empty() {
                w.verb = match w.verb {
                    "get" => "list",
                    "delete" => "deletecollection",
                    verb => verb,
                };
            }
            return Ok(w.into_info());
        }

        // Selector values are decoded once, here, whatever the verb: a
        // query value this parse reads must decode to UTF-8.
        let field_selector = match query.get(QueryKey::FieldSelector) {
            Ok(v) => v,
            Err(error) => return Err(w.failure(error)),
        };
        let label_selector = match query.get(QueryKey::LabelSelector) {
            Ok(v) => v,
            Err(error) => return Err(w.failure(error)),
        };

        // A get without a name is a list or a watch.
        let mut name = Cow::Borrowed(w.name);
        if w.name.is_empty() && w.verb == "get" {
            let is_watch = match query.get(QueryKey::Watch) {
                Err(error) => return Err(w.failure(error)),
                Ok(None) => false,
                Ok(Some(v)) => {
                    // Only a non-ASCII value can tell Kubernetes' two rules
                    // apart (see `is_false`), so decode the options only then.
                    let lenient = !v.is_ascii()
                        && field_selector
                            .as_deref()
                            .is_none_or(|fs| FieldSelector::validate(fs).is_ok())
                        && match other_list_options_decode(label_selector.as_deref(), query) {
                            Ok(ok) => ok,
                            Err(error) => return Err(w.failure(error)),
                        };
                    !is_false(&v, lenient)
                }
            };
            w.verb = if is_watch { "watch" } else { "list" };
            // An invalid field selector gives Err here, which (like a failed
            // ListOptions decode in Kubernetes) leaves the name unset.
            if let Some(fs) = &field_selector
                && may_name_object(fs)
                && let Ok(Some(selected)) = exact_name(fs)
                && is_valid_path_segment_name(&selected)
                // Stricter than Go: no object name holds a control character,
                // and none should reach authorizers or logs.
                && !selected.bytes().any(|b| b < 0x20 || b == 0x7f)
            {
                match other_list_options_decode(label_selector.as_deref(), query) {
                    Ok(true) => name = selected,
                    Ok(false) => {}
                    Err(error) => return Err(w.failure(error)),
                }
            }
        }

        // KubeSphere: a watch with `labelSelector=kubesphere.io/workspace=WS`
        // is scoped to that workspace.
        let mut workspace = Cow::Borrowed(w.workspace);
        if w.verb == "watch"
            && let Some(selector) = &label_selector
            && let Some(ws) = strip_prefix_cow(selector, WORKSPACE_SELECTOR_PREFIX)
        {
            workspace = ws;
            w.resource_scope = Some(ResourceScope::Workspace);
        }

        if name.is_empty() && w.verb == "delete" {
            w.verb = "deletecollection";
        }

        // Kubernetes exposes selectors to authorizers for collection verbs,
        // except on the deprecated verb-in-path form.
        let (field_selector, label_selector) =
            if !verb_in_path && matches!(w.verb, "list" | "watch" | "deletecollection") {
                (
                    field_selector.unwrap_or_default(),
                    label_selector.unwrap_or_default(),
                )
            } else {
                (Cow::Borrowed(""), Cow::Borrowed(""))
            };
        Ok(w.into_info_with(name, workspace, field_selector, label_selector))
    }

    /// The structural walk over the segments: `Ok(None)` for a non-resource
    /// request, else whether the verb came from the path. On error, `w`
    /// holds what was known before the failure, as Kubernetes returns it.
    fn walk<'a>(
        &self,
        w: &mut Walk<'a>,
        method: &'a str,
        p: &'a str,
        mut cur: Cursor<'_, 'a>,
        raw_path: &str,
    ) -> Result<Option<bool>, Error> {
        if !cur.at_least(3) {
            return Ok(None);
        }

        // /clusters/{cluster}/...: the member cluster sees the rest.
        if cur.first() == Some("clusters") {
            let cluster = cur.get(1).unwrap_or("");
            w.cluster = cluster;
            w.path = Cow::Borrowed(p.get("/clusters/".len() + cluster.len()..).unwrap_or(""));
            cur.advance(2);
        }

        let Some(prefix) = cur.first() else {
            return Ok(None);
        };
        let Some(groupless) = self.prefix_kind(prefix) else {
            return Ok(None);
        };
        w.api_prefix = prefix;
        cur.advance(1);

        // Legacy form: /{prefix}/clusters/{cluster}/...
        if cur.first() == Some("clusters")
            && let Some(cluster) = cur.get(1)
        {
            if !w.cluster.is_empty() {
                return Err(Error::AmbiguousCluster {
                    outer: w.cluster.to_owned(),
                    prefix: prefix.to_owned(),
                });
            }
            w.cluster = cluster;
            // Offset of the cluster segment's end within `p`.
            let behind = cluster.as_ptr() as usize - p.as_ptr() as usize + cluster.len();
            w.path = Cow::Owned(format!("/{prefix}{}", &p[behind..]));
            cur.advance(2);
        }

        if groupless {
            if !cur.at_least(2) {
                return Ok(None);
            }
        } else {
            if !cur.at_least(3) {
                return Ok(None);
            }
            w.api_group = cur.first().unwrap_or("");
            cur.advance(1);
        }

        w.is_resource_request = true;
        w.api_version = cur.first().unwrap_or("");
        cur.advance(1);

        let mut verb_in_path = false;
        match cur.first() {
            Some(v @ ("watch" | "proxy")) => {
                if !cur.at_least(2) {
                    return Err(Error::MissingResource {
                        url: raw_path.to_owned(),
                    });
                }
                w.verb = v;
                verb_in_path = true;
                cur.advance(1);
            }
            _ => w.verb = method_verb(method),
        }

        // /workspaces/{ws}/... and /workspacetemplates/{ws}/...
        if matches!(cur.first(), Some("workspaces" | "workspacetemplates")) {
            if let Some(ws) = cur.get(1) {
                w.workspace = ws;
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
            w.namespace = ns;
            if cur
                .get(2)
                .is_some_and(|s| !NAMESPACE_SUBRESOURCES.contains(&s))
            {
                cur.advance(2);
            }
        }

        // resource/name/subresource/anything/else
        w.resource = cur.get(0).unwrap_or("");
        w.name = cur.get(1).unwrap_or("");
        if w.verb != "proxy" {
            w.subresource = cur.get(2).unwrap_or("");
        }
        w.parts = cur.rest();
        w.resource_scope = Some(self.scope(w));
        Ok(Some(verb_in_path))
    }
}

/// Whether `s` is one of `kinds`' API prefixes, and if so whether it is
/// groupless.
fn prefix_kind_in(kinds: &[(Box<str>, bool)], s: &str) -> Option<bool> {
    kinds
        .iter()
        .find(|(p, _)| short_eq(p, s))
        .map(|&(_, groupless)| groupless)
}

/// [`prefix_kind_in`] for the default prefixes: `api` and `kapi` are
/// groupless, `apis` and `kapis` are not.
#[inline]
fn default_prefix_kind(s: &str) -> Option<bool> {
    match s {
        "api" | "kapi" => Some(true),
        "apis" | "kapis" => Some(false),
        _ => None,
    }
}

/// The bit of [`Resolver::global_lengths`] for `s`.
fn length_bit(s: &str) -> u64 {
    1 << s.len().min(63)
}

/// `a == b`, comparing short strings (API prefixes) in line rather than
/// through a `memcmp` call.
#[inline]
fn short_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && if a.len() <= 8 {
            a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
        } else {
            a == b
        }
}

/// The fields of a parse as it goes, borrowed: cheap to fill in any order,
/// turned into a [`RequestInfo`] once at the end.
struct Walk<'a> {
    is_resource_request: bool,
    path: Cow<'a, str>,
    verb: &'a str,
    api_prefix: &'a str,
    api_group: &'a str,
    api_version: &'a str,
    namespace: &'a str,
    resource: &'a str,
    subresource: &'a str,
    name: &'a str,
    parts: &'a str,
    workspace: &'a str,
    cluster: &'a str,
    resource_scope: Option<ResourceScope>,
}

impl<'a> Walk<'a> {
    /// The start: the path as given, the method as the verb (lowercased
    /// when the info is built, unless the walk resolves a resource verb).
    fn new(method: &'a str, path: &'a str) -> Self {
        Walk {
            is_resource_request: false,
            path: Cow::Borrowed(path),
            verb: method,
            api_prefix: "",
            api_group: "",
            api_version: "",
            namespace: "",
            resource: "",
            subresource: "",
            name: "",
            parts: "",
            workspace: "",
            cluster: "",
            resource_scope: None,
        }
    }

    fn into_info(self) -> RequestInfo<'a> {
        let name = Cow::Borrowed(self.name);
        let workspace = Cow::Borrowed(self.workspace);
        self.into_info_with(name, workspace, Cow::Borrowed(""), Cow::Borrowed(""))
    }

    #[inline(always)]
    fn into_info_with(
        self,
        name: Cow<'a, str>,
        workspace: Cow<'a, str>,
        field_selector: Cow<'a, str>,
        label_selector: Cow<'a, str>,
    ) -> RequestInfo<'a> {
        let is_kubernetes_request = is_kubernetes_request(self.api_prefix, &self.path);
        // A resource request's verb is resolved (a static, lowercase verb);
        // any other still holds the method.
        let verb = if self.is_resource_request {
            Cow::Borrowed(self.verb)
        } else {
            lowercase_method(self.verb)
        };
        RequestInfo {
            is_resource_request: self.is_resource_request,
            path: self.path,
            verb,
            api_prefix: Cow::Borrowed(self.api_prefix),
            api_group: Cow::Borrowed(self.api_group),
            api_version: Cow::Borrowed(self.api_version),
            namespace: Cow::Borrowed(self.namespace),
            resource: Cow::Borrowed(self.resource),
            subresource: Cow::Borrowed(self.subresource),
            name,
            parts: Parts::new(Cow::Borrowed(self.parts)),
            field_selector,
            label_selector,
            workspace,
            cluster: Cow::Borrowed(self.cluster),
            resource_scope: self.resource_scope,
            is_kubernetes_request,
        }
    }

    /// A failure with what was known.
    #[cold]
    #[inline(never)]
    fn failure(self, error: Error) -> Box<ParseFailure<'a>> {
        // A walk that fails right after the version (a path verb with
        // nothing after it) is a resource request whose verb is still the
        // method: Kubernetes reports it lowercased, as before any resolution.
        let verb = lowercase_method(self.verb);
        let mut partial = self.into_info();
        partial.verb = verb;
        Box::new(ParseFailure { error, partial })
    }
}

/// The failure of a parse that got no further than checking its input:
/// the partial result holds the path as given and the lowercased method as
/// the verb, as Kubernetes' `NewRequestInfo` starts out.
#[cold]
#[inline(never)]
fn early_failure<'a>(error: Error, method: &'a str, path: &'a str) -> Box<ParseFailure<'a>> {
    Box::new(ParseFailure {
        error,
        partial: RequestInfo {
            path: Cow::Borrowed(path),
            verb: lowercase_method(method),
            ..RequestInfo::default()
        },
    })
}

/// The verb of a request that is not a resource request: the method in
/// lowercase, as Kubernetes' `RequestInfoFactory` sets it
/// (`strings.ToLower(req.Method)`) and its authorizers match it. A valid
/// method is an ASCII token, so lowering ASCII letters is the same thing
/// (an invalid method, seen only in a failure, gets the same treatment).
/// The usual methods map to static strings; only an unusual method with an
/// uppercase letter allocates.
#[inline]
fn lowercase_method(method: &str) -> Cow<'_, str> {
    let lower = match method {
        "GET" => "get",
        "POST" => "post",
        "PUT" => "put",
        "PATCH" => "patch",
        "DELETE" => "delete",
        "HEAD" => "head",
        "OPTIONS" => "options",
        "CONNECT" => "connect",
        "TRACE" => "trace",
        _ if !method.bytes().any(|b| b.is_ascii_uppercase()) => method,
        _ => return Cow::Owned(method.to_ascii_lowercase()),
    };
    Cow::Borrowed(lower)
}

/// Whether a field selector can name the object: whether a term can be on
/// `metadata.name` (terms start at the beginning or after a `,`). Saves
/// [`exact_name`] on the usual selectors, which never name one.
fn may_name_object(selector: &str) -> bool {
    const FIELD: &[u8] = b"metadata.name";
    let bytes = selector.as_bytes();
    if bytes.starts_with(FIELD) {
        return true;
    }
    // Usually one term: a branch-free test for a comma first.
    let comma = bytes.iter().fold(false, |any, &b| any | (b == b','));
    comma
        && bytes
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b',' && bytes[i + 1..].starts_with(FIELD))
}

/// KubeSphere's `isKubernetesRequest`: the `api`/`apis` prefixes, and the
/// one- and two-segment discovery paths under them (`/api`, `/apis/{group}`).
#[inline]
fn is_kubernetes_request(api_prefix: &str, path: &str) -> bool {
    let prefix: &str = if api_prefix.is_empty() {
        // One or two segments: the first one.
        let trimmed = trim_one_trailing_slash(path);
        let inner = trimmed.get(1..).unwrap_or("");
        let mut slashes = inner.bytes().enumerate().filter(|&(_, b)| b == b'/');
        match (slashes.next(), slashes.next()) {
            _ if inner.is_empty() => "",
            (None, _) => inner,
            (Some((i, _)), None) => &inner[..i],
            (Some(_), Some(_)) => "",
        }
    } else {
        api_prefix
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

/// Whether the rest of Kubernetes' `ListOptions` decoding succeeds once the
/// field selector has parsed: the label selector parses and `limit` and
/// `timeoutSeconds` are 64-bit integers.
fn other_list_options_decode(
    label_selector: Option<&str>,
    query: &Query<'_>,
) -> Result<bool, Error> {
    if label_selector.is_some_and(|ls| LabelSelector::validate(ls).is_err()) {
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

/// The `metadata.name` a field selector requires, borrowing from the input
/// when the selector does.
fn exact_name<'a>(selector: &Cow<'a, str>) -> Result<Option<Cow<'a, str>>, crate::SelectorError> {
    match selector {
        Cow::Borrowed(s) => FieldSelector::exact_match(s, "metadata.name"),
        Cow::Owned(s) => {
            Ok(FieldSelector::exact_match(s, "metadata.name")?.map(|n| Cow::Owned(n.into_owned())))
        }
    }
}

/// `s` without `prefix`, borrowing from the input when `s` does.
fn strip_prefix_cow<'a>(s: &Cow<'a, str>, prefix: &str) -> Option<Cow<'a, str>> {
    match s {
        Cow::Borrowed(b) => b.strip_prefix(prefix).map(Cow::Borrowed),
        Cow::Owned(o) => o.strip_prefix(prefix).map(|r| Cow::Owned(r.to_owned())),
    }
}

/// Splits a request target into raw path and query. The absolute form
/// `http(s)://authority/path?query` is accepted too: its authority must be
/// made of RFC 3986 authority characters (so no `#`, space or control
/// character, which Go's `url.ParseRequestURI` rejects as well) and is then
/// dropped; an absent path reads as `/`.
fn split_absolute_target(target: &str) -> Result<(&str, &str), Error> {
    if target.starts_with('/') {
        return Ok(split_target(target));
    }
    let rest = ["http://", "https://"].iter().find_map(|scheme| {
        target
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &target[scheme.len()..])
    });
    let Some(rest) = rest else {
        return Ok(split_target(target));
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority_ok = rest[..end].bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'['
                    | b']'
            )
    });
    if !authority_ok {
        return Err(Error::InvalidAuthority);
    }
    Ok(match rest.as_bytes().get(end) {
        Some(b'/') => split_target(&rest[end..]),
        Some(_) => ("/", &rest[end + 1..]),
        None => ("/", ""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn non_resource_verbs_are_lowercase_methods() {
        for (method, verb) in [
            ("GET", "get"),
            ("POST", "post"),
            ("PUT", "put"),
            ("PATCH", "patch"),
            ("DELETE", "delete"),
            ("HEAD", "head"),
            ("OPTIONS", "options"),
            ("CONNECT", "connect"),
            ("TRACE", "trace"),
            ("get", "get"),
            ("m-search", "m-search"),
        ] {
            let lower = lowercase_method(method);
            assert!(matches!(lower, Cow::Borrowed(_)), "{method} allocated");
            assert_eq!(lower, verb);
        }
        for (method, verb) in [("M-SEARCH", "m-search"), ("PropFind", "propfind")] {
            let lower = lowercase_method(method);
            assert!(matches!(lower, Cow::Owned(_)), "{method}");
            assert_eq!(lower, verb);
        }
    }

    #[test]
    fn absolute_targets() {
        let split = |t| split_absolute_target(t).unwrap();
        assert_eq!(split("/a"), ("/a", ""));
        assert_eq!(split("https://h:6443/a?b"), ("/a", "b"));
        assert_eq!(split("HTTP://h/a"), ("/a", ""));
        assert_eq!(split("http://user@[::1]:80/a"), ("/a", ""));
        assert_eq!(split("http://h"), ("/", ""));
        assert_eq!(split("http://h?w=1"), ("/", "w=1"));
        assert_eq!(split("ftp://h/a"), ("ftp://h/a", ""));
        for bad in [
            "http://h#/api/v1/pods",
            "http://h#x",
            "http://a\tb/api",
            "http://a b/x",
        ] {
            assert_eq!(
                split_absolute_target(bad),
                Err(Error::InvalidAuthority),
                "{bad:?}"
            );
        }
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
    fn default_prefix_shortcut_only_when_equivalent() {
        let with = |prefixes: &[&str], groupless: &[&str]| {
            Resolver::new(ResolverConfig {
                api_prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
                groupless_prefixes: groupless.iter().map(|p| (*p).to_owned()).collect(),
                ..ResolverConfig::default()
            })
            .unwrap()
        };
        let cases = [
            (
                with(&["api", "apis", "kapis", "kapi"], &["api", "kapi"]),
                true,
            ),
            (
                with(
                    &["kapi", "apis", "api", "kapis", "api"],
                    &["kapi", "api", "x"],
                ),
                true,
            ),
            (with(&["api", "apis", "kapis"], &["api", "kapi"]), false),
            (
                with(&["api", "apis", "kapis", "kapi", "x"], &["api", "kapi"]),
                false,
            ),
            (with(&["api", "apis", "kapis", "kapi"], &["api"]), false),
            (
                with(&["api", "apis", "kapis", "kapi"], &["api", "kapi", "apis"]),
                false,
            ),
            (Resolver::default(), true),
        ];
        for (resolver, shortcut) in cases {
            assert_eq!(resolver.default_prefixes, shortcut, "{resolver:?}");
            for s in ["api", "apis", "kapis", "kapi", "x", "", "ap", "apiss"] {
                assert_eq!(
                    resolver.prefix_kind(s),
                    prefix_kind_in(&resolver.prefix_kinds, s),
                    "{s} {resolver:?}"
                );
            }
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
