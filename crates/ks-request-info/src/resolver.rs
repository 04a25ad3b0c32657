//! [`Resolver`]: the configured parser.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::info::{Parts, RequestInfo, ResourceScope};
use crate::segments::Segments;
use crate::selector::{FieldSelector, LabelSelector, is_valid_path_segment_name};
use crate::target::{
    Limits, Query, QueryKey, check_path_len, decode_path, is_valid_method, split_target,
    trim_one_trailing_slash,
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
        match split_absolute_target(target) {
            Ok((path, query)) => self.parse_parts(method, path, query),
            Err(error) => Err(Box::new(ParseFailure {
                error,
                partial: RequestInfo {
                    path: Cow::Borrowed(target),
                    verb: Cow::Borrowed(method),
                    ..RequestInfo::default()
                },
            })),
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
        let mut info = RequestInfo {
            path: Cow::Borrowed(path),
            verb: Cow::Borrowed(method),
            ..RequestInfo::default()
        };
        match self.parse_into(&mut info, method, path, query) {
            Ok(()) => Ok(info),
            Err(error) => Err(Box::new(ParseFailure {
                error,
                partial: info,
            })),
        }
    }

    /// Fills `info`, which starts with the raw path and the method as verb;
    /// on error it holds what was known before the failure.
    fn parse_into<'a>(
        &self,
        info: &mut RequestInfo<'a>,
        method: &'a str,
        path: &'a str,
        query: &'a str,
    ) -> Result<(), Error> {
        if !is_valid_method(method) {
            return Err(Error::InvalidMethod(method.to_owned()));
        }
        check_path_len(path, &self.limits)?;
        let query = Query::new(query, &self.limits)?;
        // The common case: nothing to decode, one pass over the path.
        if let Some(mut segments) = Segments::scan_raw(path)? {
            return self.fill(info, method, path, &mut segments, path, &query);
        }
        // The path holds escapes: parse the decoded copy, then detach.
        let decoded = decode_path(path, &self.limits)?;
        let mut segments = Segments::parse(&decoded)?;
        let mut local = RequestInfo {
            path: Cow::Borrowed(&decoded),
            verb: Cow::Borrowed(method),
            ..RequestInfo::default()
        };
        let result = self.fill(&mut local, method, &decoded, &mut segments, path, &query);
        *info = local.into_owned();
        result
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

    /// The parse proper, over a decoded path `p` and its segments; sets
    /// `is_kubernetes_request` whatever the outcome.
    fn fill<'a>(
        &self,
        info: &mut RequestInfo<'a>,
        method: &'a str,
        p: &'a str,
        cur: &mut Segments<'a>,
        raw_path: &str,
        query: &Query<'a>,
    ) -> Result<(), Error> {
        let result = self.fill_fields(info, method, p, cur, raw_path, query);
        info.is_kubernetes_request = is_kubernetes_request(info);
        result
    }

    /// Fills `info` in place; on error, `info` holds what was known before
    /// the failure, as Kubernetes returns it.
    fn fill_fields<'a>(
        &self,
        info: &mut RequestInfo<'a>,
        method: &'a str,
        p: &'a str,
        cur: &mut Segments<'a>,
        raw_path: &str,
        query: &Query<'a>,
    ) -> Result<(), Error> {
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
        if cur.first() == Some("clusters")
            && let Some(cluster) = cur.get(1)
        {
            if !info.cluster.is_empty() {
                return Err(Error::AmbiguousCluster {
                    outer: info.cluster.clone().into_owned(),
                    prefix: prefix.to_owned(),
                });
            }
            info.cluster = Cow::Borrowed(cluster);
            // Offset of the cluster segment's end within `p`.
            let behind = cluster.as_ptr() as usize - p.as_ptr() as usize + cluster.len();
            info.path = Cow::Owned(format!("/{prefix}{}", &p[behind..]));
            cur.advance(2);
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

        // Selector values are decoded once, here, whatever the verb: a
        // query value this parse reads must decode to UTF-8.
        let field_selector = query.get(QueryKey::FieldSelector)?;
        let label_selector = query.get(QueryKey::LabelSelector)?;

        // A get without a name is a list or a watch.
        if info.name.is_empty() && info.verb == "get" {
            let is_watch = match query.get(QueryKey::Watch)? {
                None => false,
                Some(w) => {
                    // Only a non-ASCII value can tell Kubernetes' two rules
                    // apart (see `is_false`), so decode the options only then.
                    let lenient = !w.is_ascii()
                        && field_selector
                            .as_deref()
                            .is_none_or(|fs| FieldSelector::validate(fs).is_ok())
                        && other_list_options_decode(label_selector.as_deref(), query)?;
                    !is_false(&w, lenient)
                }
            };
            info.verb = Cow::Borrowed(if is_watch { "watch" } else { "list" });
            // An invalid field selector gives Err here, which (like a failed
            // ListOptions decode in Kubernetes) leaves the name unset.
            if let Some(fs) = &field_selector
                && let Ok(Some(name)) = exact_name(fs)
                && is_valid_path_segment_name(&name)
                // Stricter than Go: no object name holds a control character,
                // and none should reach authorizers or logs.
                && !name.bytes().any(|b| b < 0x20 || b == 0x7f)
                && other_list_options_decode(label_selector.as_deref(), query)?
            {
                info.name = name;
            }
        }

        // KubeSphere: a watch with `labelSelector=kubesphere.io/workspace=WS`
        // is scoped to that workspace.
        if info.verb == "watch"
            && let Some(selector) = &label_selector
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
            info.field_selector = field_selector.unwrap_or_default();
            info.label_selector = label_selector.unwrap_or_default();
        }
        Ok(())
    }
}

/// KubeSphere's `isKubernetesRequest`: the `api`/`apis` prefixes, and the
/// one- and two-segment discovery paths under them (`/api`, `/apis/{group}`).
fn is_kubernetes_request(info: &RequestInfo<'_>) -> bool {
    let prefix: &str = if info.api_prefix.is_empty() {
        // One or two segments: the first one.
        let trimmed = trim_one_trailing_slash(&info.path);
        let inner = trimmed.get(1..).unwrap_or("");
        let mut slashes = inner.bytes().enumerate().filter(|&(_, b)| b == b'/');
        match (slashes.next(), slashes.next()) {
            _ if inner.is_empty() => "",
            (None, _) => inner,
            (Some((i, _)), None) => &inner[..i],
            (Some(_), Some(_)) => "",
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
