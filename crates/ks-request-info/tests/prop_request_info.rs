//! Property tests for ks-request-info.
//!
//! The expected values come from a small reference model written here from
//! the semantics (Kubernetes' `RequestInfoFactory` as extended by
//! KubeSphere, see the crate docs), not from the resolver:
//!
//! - (a) no input panics: arbitrary methods, paths, queries and bytes;
//! - (b) the borrowed, owned and `http`-typed parses agree, and the borrowing
//!   parse really borrows;
//! - (c) generated valid resource paths parse to what the model says, survive
//!   a render-and-reparse round trip, do not care how bytes are
//!   percent-encoded, and become errors with `%2F`, `//`, `.` or `..`;
//!   generated non-resource paths (discovery, `/healthz`, member clusters)
//!   parse to what the model says, the verb being the lowercased method;
//! - (d) label and field selectors round-trip through their text form, label
//!   selectors match like a naive matcher, and `validate` agrees with `parse`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use ks_request_info::selector::{FieldRequirement, FieldSelector, LabelSelector, Operator};
use ks_request_info::{Error, OwnedRequestInfo, ParseResult, RequestInfo, Resolver, ResourceScope};
use proptest::prelude::*;
use proptest::sample::select;

static RESOLVER: LazyLock<Resolver> = LazyLock::new(Resolver::default);

/// The default number of cases (256, or `PROPTEST_CASES`). Failures are not
/// persisted to a file: the minimal input is in the failure message; add it
/// to a table test.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn owned(result: ParseResult<'_>) -> ParseResult<'static> {
    result
        .map(RequestInfo::into_owned)
        .map_err(|f| Box::new(f.into_owned()))
}

// ---------------------------------------------------------------------------
// (a) No panics, on anything.
// ---------------------------------------------------------------------------

/// Methods: the usual ones, tokens, and anything at all.
fn any_method() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(&["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"][..])
            .prop_map(str::to_owned),
        1 => "[A-Za-z!#$%&'*+.^_`|~-]{1,8}",
        1 => any::<String>(),
    ]
}

/// Path segments that exercise every rule, plus arbitrary text.
fn interesting_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(
            &[
                "", ".", "..", "%", "%2", "%2F", "%2f", "%2e", "%2E%2e", "%zz", "%C3%BC", "%FF",
                "%00", "%0A", "%7f", "%25", "%3F", "%23", "a%20b", "clusters", "api", "apis",
                "kapis", "kapi", "watch", "proxy", "namespaces", "workspaces",
                "workspacetemplates", "status", "finalize", "v1", "v1alpha2", "apps",
                "iam.kubesphere.io", "tenant.kubesphere.io", "users", "pods", "ü", "\u{17f}",
                "a?b", "#", "\t", "a b", "+", ";", "?", "?watch=1",
            ][..],
        )
        .prop_map(str::to_owned),
        2 => "[a-z0-9.-]{1,6}",
        1 => "\\PC{0,4}",
        1 => any::<String>(),
    ]
}

fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(interesting_segment(), 0..24).prop_map(|segs| {
            let mut p = String::new();
            for s in segs {
                p.push('/');
                p.push_str(&s);
            }
            p
        }),
        1 => any::<String>(),
    ]
}

fn any_query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        4 => select(
            &[
                "watch", "fieldSelector", "labelSelector", "limit", "timeoutSeconds", "w%61tch",
                "watch+", "", "x", "%FF",
            ][..],
        )
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let value = prop_oneof![
        4 => select(
            &[
                "true", "false", "0", "1", "FALSE", "fal\u{17f}e", "fal%C5%BFe", "",
                "metadata.name%3Dfoo", "metadata.name%3D..", "metadata.name=foo%2Fbar",
                "kubesphere.io/workspace%3Dws1", "kubesphere.io%2Fworkspace%3Dws1%2Capp%3Dx",
                "x+in+(a%2Cb)", "x+in+(", "%FF", "a+b", "%", "%G0", ";", "#", "%00", "\u{7f}",
                "abc", "99999999999999999999",
            ][..],
        )
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec((key, prop::option::of(value)), 0..5).prop_map(|pairs| {
        let mut q = String::new();
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            if i > 0 {
                q.push('&');
            }
            q.push_str(&k);
            if let Some(v) = v {
                q.push('=');
                q.push_str(&v);
            }
        }
        q
    })
}

/// Whole request targets: origin form, absolute form, and anything.
fn any_target() -> impl Strategy<Value = String> {
    let origin = (any_path(), prop::option::of(any_query())).prop_map(|(p, q)| match q {
        Some(q) => format!("{p}?{q}"),
        None => p,
    });
    let absolute = (
        select(&["http://", "HTTPS://", "ftp://", "http:/"][..]),
        "[a-z0-9.:@#?-]{0,8}",
        any_path(),
    );
    prop_oneof![
        6 => origin,
        1 => absolute
            .prop_map(|(scheme, authority, rest)| format!("{scheme}{authority}{rest}")),
        1 => any::<String>(),
    ]
}

/// Checks what must hold for every result, so that every no-panic test also
/// looks at the output.
fn check_result(result: &ParseResult<'_>) {
    match result {
        Ok(info) => {
            assert_eq!(info.resource_scope.is_some(), info.is_resource_request);
            assert!(info.parts.iter().all(|s| !s.is_empty()));
            assert_eq!(info.parts.iter().count(), info.parts.len());
            if info.is_resource_request {
                assert_eq!(info.parts.get(0).unwrap_or(""), info.resource);
                assert!(!info.api_version.is_empty());
            } else {
                assert!(info.resource.is_empty() && info.parts.is_empty());
            }
            assert!(info.path.starts_with('/') || info.path.is_empty());
            let _ = info.selector_error();
            let _ = info.parsed_label_selector();
            let _ = info.parsed_field_selector();
        }
        Err(failure) => {
            // A parse never reports a configuration error.
            assert!(
                matches!(failure.error.http_status(), 400 | 414),
                "{failure:?}"
            );
            assert!(!failure.to_string().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_no_panic_parse(method in any_method(), target in any_target()) {
        check_result(&RESOLVER.parse(&method, &target));
    }

    #[test]
    fn prop_no_panic_parse_parts(method in any_method(), path in any_path(), query in any_query()) {
        check_result(&RESOLVER.parse_parts(&method, &path, &query));
    }

    #[test]
    fn prop_no_panic_arbitrary_strings(method in any::<String>(), path in any::<String>(), query in any::<String>()) {
        check_result(&RESOLVER.parse(&method, &path));
        check_result(&RESOLVER.parse_parts(&method, &path, &query));
    }

    #[test]
    fn prop_no_panic_fuzz_entry(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        ks_request_info::fuzzing::check_request_info(&bytes);
    }

    #[test]
    fn prop_no_panic_fuzz_entry_structured(method in any_method(), target in any_target()) {
        ks_request_info::fuzzing::check_request_info(format!("{method} {target}").as_bytes());
    }
}

// ---------------------------------------------------------------------------
// (b) Borrowed, owned and `http` forms agree.
// ---------------------------------------------------------------------------

fn is_absolute_http(target: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        target
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_owned_equals_borrowed(method in any_method(), target in any_target()) {
        let borrowed = RESOLVER.parse(&method, &target);
        let detached = {
            // Copies that are dropped before the comparison.
            let method = method.clone();
            let target = target.clone();
            owned(RESOLVER.parse(&method, &target))
        };
        prop_assert_eq!(&owned(borrowed.clone()), &detached);
        prop_assert_eq!(borrowed, detached);
    }

    #[test]
    fn prop_parse_uri_agrees_with_parse(method in any_method(), target in prop_oneof![any_target(), valid_request().prop_map(|r| r.target)]) {
        let (Ok(m), Ok(uri)) = (
            http::Method::from_bytes(method.as_bytes()),
            target.parse::<http::Uri>(),
        ) else {
            return Ok(());
        };
        // `http` drops a fragment; we reject it (checked by the target rules).
        prop_assume!(!target.contains('#'));
        prop_assume!(target.starts_with('/') || is_absolute_http(&target));
        let direct = owned(RESOLVER.parse(&method, &target));
        prop_assert_eq!(owned(RESOLVER.parse_uri(&m, &uri)), direct.clone());
        let request = http::Request::builder().method(m).uri(uri).body(()).unwrap();
        prop_assert_eq!(owned(RESOLVER.parse_request(&request)), direct);
    }

    /// HTTP request targets carry no fragment: a `#` anywhere is rejected,
    /// in the origin and in the absolute form.
    #[test]
    fn prop_hash_anywhere_is_rejected(
        target in prop_oneof![any_target(), valid_request().prop_map(|r| r.target)],
        at in any::<prop::sample::Index>(),
    ) {
        let boundaries: Vec<usize> = (0..=target.len()).filter(|&i| target.is_char_boundary(i)).collect();
        let i = boundaries[at.index(boundaries.len())];
        let with_hash = format!("{}#{}", &target[..i], &target[i..]);
        prop_assert!(RESOLVER.parse("GET", &with_hash).is_err(), "{:?}", with_hash);
    }

    /// The borrowing parse allocates nothing for a path without escapes:
    /// every string that comes from the path borrows from it.
    #[test]
    fn prop_borrowing_parse_borrows(req in valid_request()) {
        let path = req.target.split('?').next().unwrap();
        prop_assume!(!path.contains('%') && !matches!(req.spec.cluster, ClusterForm::Legacy(_)));
        let info = RESOLVER.parse(req.spec.method, &req.target).unwrap();
        let range = req.target.as_bytes().as_ptr_range();
        let fields = [
            ("path", &info.path),
            ("api_prefix", &info.api_prefix),
            ("api_group", &info.api_group),
            ("api_version", &info.api_version),
            ("namespace", &info.namespace),
            ("resource", &info.resource),
            ("subresource", &info.subresource),
            ("cluster", &info.cluster),
        ];
        for (field, value) in fields {
            // An empty `Cow::Owned` holds no allocation.
            if value.is_empty() {
                continue;
            }
            match value {
                std::borrow::Cow::Borrowed(s) => {
                    prop_assert!(range.contains(&s.as_ptr()), "{} does not point into the target", field);
                }
                std::borrow::Cow::Owned(_) => prop_assert!(false, "{} was allocated", field),
            }
        }
        // The parts are one slice of the path.
        let parts = info.parts.as_str();
        prop_assert!(range.contains(&parts.as_ptr()));
    }
}

// ---------------------------------------------------------------------------
// (c) Generated valid resource paths against a reference model.
// ---------------------------------------------------------------------------

/// Segments that change the parse when they appear in the wrong place.
const KEYWORDS: &[&str] = &[
    "clusters",
    "namespaces",
    "workspaces",
    "workspacetemplates",
    "watch",
    "proxy",
    "status",
    "finalize",
];

/// KubeSphere's default global resources, minus the two that are also
/// path keywords (those have their own strategy).
const GLOBAL_RESOURCES: &[(&str, &str)] = &[
    ("iam.kubesphere.io", "users"),
    ("iam.kubesphere.io", "globalroles"),
    ("iam.kubesphere.io", "globalrolebindings"),
    ("cluster.kubesphere.io", "clusters"),
];

/// All of the default global resources, for the model's scope rule.
fn is_global(group: &str, resource: &str) -> bool {
    GLOBAL_RESOURCES.contains(&(group, resource))
        || (group == "tenant.kubesphere.io"
            && matches!(resource, "workspaces" | "workspacetemplates"))
}

fn not_keyword(s: &str) -> bool {
    !KEYWORDS.contains(&s)
}

/// DNS-label-like names: namespaces, workspaces, clusters, resources.
fn ident() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9.]{0,8}[a-z0-9])?".prop_filter("keyword", |s| not_keyword(s))
}

/// Any RFC 3986 `pchar` text that is not a dot segment: object names and
/// subresources may hold much more than DNS names.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ident(),
        1 => "[A-Za-z0-9_~][-A-Za-z0-9._~:@!$&'()*+,;=]{0,10}".prop_filter("keyword", |s| not_keyword(s)),
    ]
}

fn dns_group() -> impl Strategy<Value = String> {
    "[a-z]([-a-z0-9]{0,6}[a-z0-9])?(\\.[a-z]([-a-z0-9]{0,6}[a-z0-9])?){0,3}"
        .prop_filter("keyword", |s| not_keyword(s))
}

fn version() -> impl Strategy<Value = String> {
    "v[1-9][0-9]?((alpha|beta)[1-9])?"
}

fn http_method() -> impl Strategy<Value = &'static str> {
    // Weighted towards the methods whose verb the query can change.
    select(
        &[
            "GET", "GET", "GET", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "DELETE",
            "OPTIONS",
        ][..],
    )
}

#[derive(Debug, Clone, PartialEq)]
enum ClusterForm {
    None,
    /// `/clusters/{c}/{prefix}/...`
    Outer(String),
    /// `/{prefix}/clusters/{c}/...`
    Legacy(String),
}

/// The query parameters the parse reads, as decoded values.
#[derive(Debug, Clone, Default)]
struct QuerySpec {
    watch: Option<String>,
    field_selector: Option<String>,
    label_selector: Option<String>,
    limit: Option<String>,
    /// Repeat both selectors with other values after the first ones.
    repeated: bool,
    /// Encode spaces as `+` rather than `%20`.
    plus: bool,
    /// Order of the parameters.
    order: Vec<usize>,
}

/// The components of a valid resource request.
#[derive(Debug, Clone)]
struct RequestSpec {
    cluster: ClusterForm,
    prefix: &'static str,
    /// Present exactly for the prefixes with a group segment.
    group: Option<String>,
    version: String,
    path_verb: Option<&'static str>,
    /// `workspaces` or `workspacetemplates`, and the workspace.
    workspace: Option<(&'static str, String)>,
    namespace: Option<String>,
    resource: String,
    name: Option<String>,
    /// Only with a name.
    subresource: Option<String>,
    /// Only with a subresource.
    extra: Vec<String>,
    trailing_slash: bool,
    method: &'static str,
    query: QuerySpec,
}

#[derive(Debug, Clone)]
struct ValidRequest {
    spec: RequestSpec,
    target: String,
}

fn is_groupless(prefix: &str) -> bool {
    matches!(prefix, "api" | "kapi")
}

fn field_selector_value() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        6 => ident(),
        1 => select(&["a/b", "..", ".", "x%y", ""][..]).prop_map(str::to_owned),
    ];
    let term = prop_oneof![
        3 => (select(&["=", "=="][..]), name).prop_map(|(op, n)| format!("metadata.name{op}{n}")),
        1 => ident().prop_map(|n| format!("metadata.name!={n}")),
        2 => (
            select(&["metadata.namespace", "status.phase", "spec.nodeName"][..]),
            select(&["=", "==", "!="][..]),
            ident(),
        )
            .prop_map(|(f, op, v)| format!("{f}{op}{v}")),
    ];
    prop_oneof![
        6 => prop::collection::vec(term, 1..4).prop_map(|terms| terms.join(",")),
        1 => select(&["a=b=c", "junk", r"a=b\x", ""][..]).prop_map(str::to_owned),
    ]
}

fn query_label_selector() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => label_selector().prop_map(|s| render_label_selector(&s)),
        2 => ident().prop_map(|ws| format!("kubesphere.io/workspace={ws}")),
        1 => ident().prop_map(|ws| format!("kubesphere.io/workspace={ws},app=web")),
        1 => select(&["x in (", "-x", "a b", ""][..]).prop_map(str::to_owned),
    ]
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    let watch = prop::option::weighted(
        0.4,
        select(&["true", "1", "false", "FALSE", "False", "0", "", "yes"][..])
            .prop_map(str::to_owned),
    );
    let limit = prop::option::weighted(
        0.3,
        select(&["500", "-1", "+7", "abc", "99999999999999999999"][..]).prop_map(str::to_owned),
    );
    (
        watch,
        prop::option::weighted(0.4, field_selector_value()),
        prop::option::weighted(0.4, query_label_selector()),
        limit,
        prop::bool::weighted(0.2),
        any::<bool>(),
        Just(vec![0, 1, 2, 3, 4]).prop_shuffle(),
    )
        .prop_map(
            |(watch, field_selector, label_selector, limit, repeated, plus, order)| QuerySpec {
                watch,
                field_selector,
                label_selector,
                limit,
                repeated,
                plus,
                order,
            },
        )
}

fn request_spec() -> impl Strategy<Value = RequestSpec> {
    let cluster = prop_oneof![
        2 => Just(ClusterForm::None),
        1 => ident().prop_map(ClusterForm::Outer),
        1 => ident().prop_map(ClusterForm::Legacy),
    ];
    let group_resource = prop_oneof![
        3 => (dns_group(), ident()),
        1 => select(GLOBAL_RESOURCES).prop_map(|(g, r)| (g.to_owned(), r.to_owned())),
    ];
    let scoping = (
        prop::option::weighted(0.2, select(&["watch", "proxy"][..])),
        prop::option::weighted(
            0.3,
            (select(&["workspaces", "workspacetemplates"][..]), ident()),
        ),
        prop::option::weighted(0.4, ident()),
    );
    let tail = (
        prop::option::weighted(0.5, segment()),
        prop::option::weighted(0.5, segment()),
        prop_oneof![
            4 => prop::collection::vec(segment(), 0..3),
            // Deeper than the segments the resolver indexes up front.
            1 => prop::collection::vec(segment(), 3..24),
        ],
        prop::bool::weighted(0.2),
    );
    (
        cluster,
        select(&["api", "apis", "kapis", "kapi"][..]),
        group_resource,
        version(),
        scoping,
        tail,
        http_method(),
        query_spec(),
    )
        .prop_map(
            |(
                cluster,
                prefix,
                (group, resource),
                version,
                (path_verb, workspace, namespace),
                (name, subresource, extra, trailing_slash),
                method,
                query,
            )| {
                let subresource = subresource.filter(|_| name.is_some());
                let extra = if subresource.is_some() {
                    extra
                } else {
                    Vec::new()
                };
                RequestSpec {
                    cluster,
                    prefix,
                    group: (!is_groupless(prefix)).then_some(group),
                    version,
                    path_verb,
                    workspace,
                    namespace,
                    resource,
                    name,
                    subresource,
                    extra,
                    trailing_slash,
                    method,
                    query,
                }
            },
        )
}

fn valid_request() -> impl Strategy<Value = ValidRequest> {
    request_spec().prop_map(|spec| ValidRequest {
        target: render_target(&spec),
        spec,
    })
}

/// The path segments as the member cluster sees them (no cluster prefix).
fn member_segments(spec: &RequestSpec) -> Vec<String> {
    let mut segs = vec![spec.prefix.to_owned()];
    segs.extend(spec.group.clone());
    segs.push(spec.version.clone());
    segs.extend(spec.path_verb.map(str::to_owned));
    if let Some((kind, ws)) = &spec.workspace {
        segs.push((*kind).to_owned());
        segs.push(ws.clone());
    }
    if let Some(ns) = &spec.namespace {
        segs.push("namespaces".to_owned());
        segs.push(ns.clone());
    }
    segs.extend(part_segments(spec));
    segs
}

/// `resource/name/subresource/extra...`
fn part_segments(spec: &RequestSpec) -> Vec<String> {
    let mut parts = vec![spec.resource.clone()];
    parts.extend(spec.name.clone());
    parts.extend(spec.subresource.clone());
    parts.extend(spec.extra.iter().cloned());
    parts
}

fn member_path(spec: &RequestSpec) -> String {
    let mut p = String::new();
    for s in member_segments(spec) {
        p.push('/');
        p.push_str(&s);
    }
    if spec.trailing_slash {
        p.push('/');
    }
    p
}

fn render_path(spec: &RequestSpec) -> String {
    let member = member_path(spec);
    match &spec.cluster {
        ClusterForm::None => member,
        ClusterForm::Outer(c) => format!("/clusters/{c}{member}"),
        ClusterForm::Legacy(c) => {
            let rest = &member[1 + spec.prefix.len()..];
            format!("/{}/clusters/{c}{rest}", spec.prefix)
        }
    }
}

/// Percent-encodes all but the unreserved characters; spaces optionally as `+`.
fn encode_query_component(s: &str, plus: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if b == b' ' && plus {
            out.push('+');
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn render_query(q: &QuerySpec) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for i in &q.order {
        match i {
            0 => pairs.extend(q.watch.as_deref().map(|v| ("watch", v))),
            1 => pairs.extend(q.field_selector.as_deref().map(|v| ("fieldSelector", v))),
            2 => pairs.extend(q.label_selector.as_deref().map(|v| ("labelSelector", v))),
            3 => pairs.extend(q.limit.as_deref().map(|v| ("limit", v))),
            _ => pairs.push(("resourceVersion", "42")),
        }
    }
    // Later values of a parameter are ignored.
    if q.repeated {
        if q.field_selector.is_some() {
            pairs.push(("fieldSelector", "metadata.name=decoy"));
        }
        if q.label_selector.is_some() {
            pairs.push(("labelSelector", "kubesphere.io/workspace=decoy"));
        }
        if q.watch.is_some() {
            pairs.push(("watch", "0"));
        }
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_query_component(v, q.plus)))
        .collect::<Vec<_>>()
        .join("&")
}

fn render_target(spec: &RequestSpec) -> String {
    let query = render_query(&spec.query);
    if query.is_empty() {
        render_path(spec)
    } else {
        format!("{}?{query}", render_path(spec))
    }
}

/// Every field of a RequestInfo, as plain data, so that an expectation can be
/// written without the crate's constructors and compared with a readable diff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Fields {
    is_resource_request: bool,
    path: String,
    verb: String,
    api_prefix: String,
    api_group: String,
    api_version: String,
    namespace: String,
    resource: String,
    subresource: String,
    name: String,
    parts: Vec<String>,
    field_selector: String,
    label_selector: String,
    workspace: String,
    cluster: String,
    resource_scope: Option<ResourceScope>,
    is_kubernetes_request: bool,
}

fn fields(info: &RequestInfo<'_>) -> Fields {
    Fields {
        is_resource_request: info.is_resource_request,
        path: info.path.to_string(),
        verb: info.verb.to_string(),
        api_prefix: info.api_prefix.to_string(),
        api_group: info.api_group.to_string(),
        api_version: info.api_version.to_string(),
        namespace: info.namespace.to_string(),
        resource: info.resource.to_string(),
        subresource: info.subresource.to_string(),
        name: info.name.to_string(),
        parts: info.parts.iter().map(str::to_owned).collect(),
        field_selector: info.field_selector.to_string(),
        label_selector: info.label_selector.to_string(),
        workspace: info.workspace.to_string(),
        cluster: info.cluster.to_string(),
        resource_scope: info.resource_scope,
        is_kubernetes_request: info.is_kubernetes_request,
    }
}

/// Kubernetes' method-to-verb table.
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

/// Whether Kubernetes' ListOptions decoding of these parameters succeeds:
/// both selectors parse, and `limit` is a 64-bit integer.
fn list_options_decode(q: &QuerySpec) -> bool {
    q.label_selector
        .as_deref()
        .is_none_or(|s| LabelSelector::parse(s).is_ok())
        && q.field_selector
            .as_deref()
            .is_none_or(|s| FieldSelector::parse(s).is_ok())
        && q.limit.as_deref().is_none_or(|l| l.parse::<i64>().is_ok())
}

/// `RequiresExactMatch("metadata.name")`: the first `=`/`==` term on the field,
/// in the selector's (sorted) order.
fn exact_name(selector: &str) -> Option<String> {
    let parsed = FieldSelector::parse(selector).ok()?;
    parsed
        .requirements()
        .iter()
        .find(|r| r.field == "metadata.name" && r.equal)
        .map(|r| r.value.clone())
}

/// `path.IsValidPathSegmentName`.
fn valid_path_segment_name(name: &str) -> bool {
    name != "." && name != ".." && !name.contains(['/', '%'])
}

/// The reference model: what a request built from `spec` must parse to.
fn expected(spec: &RequestSpec) -> Fields {
    let group = spec.group.clone().unwrap_or_default();
    let mut workspace = spec
        .workspace
        .as_ref()
        .map(|(_, ws)| ws.clone())
        .unwrap_or_default();
    let namespace = spec.namespace.clone().unwrap_or_default();
    let mut verb = spec
        .path_verb
        .unwrap_or_else(|| method_verb(spec.method))
        .to_owned();
    let mut name = spec.name.clone().unwrap_or_default();
    let subresource = if verb == "proxy" {
        String::new()
    } else {
        spec.subresource.clone().unwrap_or_default()
    };
    let mut scope = if is_global(&group, &spec.resource) {
        if workspace.is_empty() {
            ResourceScope::Global
        } else {
            ResourceScope::Workspace
        }
    } else if !namespace.is_empty() {
        ResourceScope::Namespace
    } else if !workspace.is_empty() {
        ResourceScope::Workspace
    } else {
        ResourceScope::Cluster
    };
    let q = &spec.query;
    if name.is_empty() && verb == "get" {
        let watch = q
            .watch
            .as_deref()
            .is_some_and(|w| !(w == "0" || w.eq_ignore_ascii_case("false")));
        verb = if watch { "watch" } else { "list" }.to_owned();
        let named = q
            .field_selector
            .as_deref()
            .filter(|_| list_options_decode(q))
            .and_then(exact_name)
            .filter(|n| valid_path_segment_name(n));
        if let Some(n) = named {
            name = n;
        }
    }
    let label_workspace = q
        .label_selector
        .as_deref()
        .and_then(|s| s.strip_prefix("kubesphere.io/workspace="));
    if let Some(ws) = label_workspace.filter(|_| verb == "watch") {
        workspace = ws.to_owned();
        scope = ResourceScope::Workspace;
    }
    if name.is_empty() && verb == "delete" {
        verb = "deletecollection".to_owned();
    }
    let (field_selector, label_selector) = if spec.path_verb.is_none()
        && matches!(verb.as_str(), "list" | "watch" | "deletecollection")
    {
        (
            q.field_selector.clone().unwrap_or_default(),
            q.label_selector.clone().unwrap_or_default(),
        )
    } else {
        Default::default()
    };
    Fields {
        is_resource_request: true,
        path: member_path(spec),
        verb,
        api_prefix: spec.prefix.to_owned(),
        api_group: group,
        api_version: spec.version.clone(),
        namespace,
        resource: spec.resource.clone(),
        subresource,
        name,
        parts: part_segments(spec),
        field_selector,
        label_selector,
        workspace,
        cluster: match &spec.cluster {
            ClusterForm::None => String::new(),
            ClusterForm::Outer(c) | ClusterForm::Legacy(c) => c.clone(),
        },
        resource_scope: Some(scope),
        is_kubernetes_request: matches!(spec.prefix, "api" | "apis"),
    }
}

/// Percent-encodes a decoded path segment so that it decodes back to itself.
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Renders a parsed resource request back to `(method, target)`.
///
/// The structure comes from the info's fields. The decoded `path` is
/// consulted only for what the fields do not record: whether the verb was a
/// path segment, which workspace keyword was used (and its value when a
/// label selector overrode it), and a trailing slash.
fn render_info(info: &OwnedRequestInfo) -> (String, String) {
    let trailing = info.path.len() > 1 && info.path.ends_with('/');
    let segs: Vec<&str> = info.path.trim_end_matches('/')[1..].split('/').collect();
    let nparts = info.parts.len();
    let mut at = 1 + usize::from(!info.api_group.is_empty()) + 1;
    let verb_in_path =
        matches!(&*info.verb, "watch" | "proxy") && segs.get(at) == Some(&&*info.verb);
    at += usize::from(verb_in_path);
    // The segments between the version (or path verb) and the parts.
    let scoping = &segs[at..segs.len() - nparts];
    let path_workspace = match scoping {
        [kind @ ("workspaces" | "workspacetemplates"), ws, ..] => Some((*kind, *ws)),
        _ => None,
    };

    let mut path = String::new();
    if !info.cluster.is_empty() {
        let _ = write!(path, "/clusters/{}", encode_segment(&info.cluster));
    }
    let _ = write!(path, "/{}", info.api_prefix);
    if !info.api_group.is_empty() {
        let _ = write!(path, "/{}", encode_segment(&info.api_group));
    }
    let _ = write!(path, "/{}", encode_segment(&info.api_version));
    if verb_in_path {
        let _ = write!(path, "/{}", info.verb);
    }
    if let Some((kind, ws)) = path_workspace {
        let _ = write!(path, "/{kind}/{}", encode_segment(ws));
    }
    let namespace_in_parts =
        info.parts.get(0) == Some("namespaces") && info.parts.get(1) == Some(&*info.namespace);
    if !info.namespace.is_empty() && !namespace_in_parts {
        let _ = write!(path, "/namespaces/{}", encode_segment(&info.namespace));
    }
    for part in info.parts.iter() {
        let _ = write!(path, "/{}", encode_segment(part));
    }
    if trailing {
        path.push('/');
    }

    let method = match &*info.verb {
        "get" | "list" | "watch" | "proxy" => "GET",
        "create" => "POST",
        "update" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        _ => "OPTIONS",
    };
    let mut query: Vec<(&str, String)> = Vec::new();
    if info.verb == "watch" && !verb_in_path {
        query.push(("watch", "1".to_owned()));
    }
    if !info.field_selector.is_empty() {
        query.push(("fieldSelector", info.field_selector.to_string()));
        // The selector names an object the info does not: Kubernetes takes
        // the name only when the whole ListOptions decode succeeds.
        if info.name.is_empty() && nparts == 1 {
            query.push(("limit", "not-a-number".to_owned()));
        }
    }
    if !info.label_selector.is_empty() {
        query.push(("labelSelector", info.label_selector.to_string()));
    } else if info.verb == "watch"
        && !info.workspace.is_empty()
        && path_workspace.map(|(_, ws)| ws) != Some(&*info.workspace)
    {
        // A path-verb watch keeps its selectors to itself, but a workspace
        // label selector still sets the workspace.
        query.push((
            "labelSelector",
            format!("kubesphere.io/workspace={}", info.workspace),
        ));
    }
    let mut target = path;
    for (i, (k, v)) in query.iter().enumerate() {
        target.push(if i == 0 { '?' } else { '&' });
        let _ = write!(target, "{k}={}", encode_query_component(v, false));
    }
    (method.to_owned(), target)
}

/// Replaces the bytes of `path` at the chosen positions (never `/`) with
/// `%XX` escapes in the chosen case.
fn percent_encode_some(path: &str, picks: &[(prop::sample::Index, bool)]) -> String {
    let bytes = path.as_bytes();
    let candidates: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] != b'/').collect();
    let chosen: std::collections::BTreeMap<usize, bool> = picks
        .iter()
        .map(|(ix, lower)| (candidates[ix.index(candidates.len())], *lower))
        .collect();
    let mut out = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        match chosen.get(&i) {
            Some(true) => out.extend(format!("%{b:02x}").bytes()),
            Some(false) => out.extend(format!("%{b:02X}").bytes()),
            None => out.push(b),
        }
    }
    String::from_utf8(out).unwrap()
}

fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_valid_request_matches_model(req in valid_request()) {
        let info = RESOLVER
            .parse(req.spec.method, &req.target)
            .unwrap_or_else(|e| panic!("{} {}: {e}", req.spec.method, req.target));
        prop_assert_eq!(fields(&info), expected(&req.spec), "{} {}", req.spec.method, req.target);
        prop_assert_eq!(info.parts.as_str(), part_segments(&req.spec).join("/"));
    }

    #[test]
    fn prop_render_and_reparse_round_trips(req in valid_request()) {
        let first = RESOLVER.parse(req.spec.method, &req.target).unwrap().into_owned();
        let (method, target) = render_info(&first);
        let second = RESOLVER
            .parse(&method, &target)
            .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
            .into_owned();
        prop_assert_eq!(&first, &second, "{} {} re-rendered as {} {}", req.spec.method, req.target, method, target);
    }

    /// Percent-encoding any byte of the path other than `/` changes nothing:
    /// the info holds the decoded path.
    #[test]
    fn prop_percent_encoding_is_transparent(
        req in valid_request(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 1..8),
    ) {
        let (path, query) = split_target(&req.target);
        let encoded = percent_encode_some(path, &picks);
        let target = if query.is_empty() { encoded.clone() } else { format!("{encoded}?{query}") };
        let plain = owned(RESOLVER.parse(req.spec.method, &req.target));
        let escaped = owned(RESOLVER.parse(req.spec.method, &target));
        prop_assert_eq!(escaped, plain, "{}", target);
    }

    /// `%2F` inside a segment is always rejected, whatever the case.
    #[test]
    fn prop_encoded_slash_is_rejected(
        req in valid_request(),
        at in any::<prop::sample::Index>(),
        lower in any::<bool>(),
    ) {
        let (path, query) = split_target(&req.target);
        // Insert after any non-slash byte, i.e. inside or at the end of a segment.
        let candidates: Vec<usize> = path.bytes().enumerate().filter(|(_, b)| *b != b'/').map(|(i, _)| i + 1).collect();
        let i = candidates[at.index(candidates.len())];
        let slash = if lower { "%2f" } else { "%2F" };
        let target = format!("{}{slash}{}?{query}", &path[..i], &path[i..]);
        let failure = RESOLVER.parse(req.spec.method, &target).unwrap_err();
        prop_assert_eq!(failure.error, Error::EncodedSlash, "{}", target);
        prop_assert_eq!(&*failure.partial.path, &target[..target.find('?').unwrap()]);
    }

    /// An empty, `.` or `..` segment anywhere (also encoded) is rejected.
    #[test]
    fn prop_empty_and_dot_segments_are_rejected(
        req in valid_request(),
        at in any::<prop::sample::Index>(),
        bad in select(&["", ".", "..", "%2e", "%2E%2e", ".%2E"][..]),
    ) {
        let (path, query) = split_target(&req.target);
        let path = path.trim_end_matches('/');
        let slashes: Vec<usize> = path.bytes().enumerate().filter(|(_, b)| *b == b'/').map(|(i, _)| i).collect();
        let i = slashes[at.index(slashes.len())];
        let target = format!("{}/{bad}{}?{query}", &path[..i], &path[i..]);
        let want = if bad.is_empty() { Error::EmptySegment } else { Error::DotSegment };
        prop_assert_eq!(RESOLVER.parse(req.spec.method, &target).unwrap_err().error, want, "{}", target);
    }

    /// HEAD is GET, for every request.
    #[test]
    fn prop_head_is_get(req in valid_request()) {
        prop_assert_eq!(
            fields(&RESOLVER.parse("HEAD", &req.target).unwrap()),
            fields(&RESOLVER.parse("GET", &req.target).unwrap())
        );
    }
}

// Strategies that use the keywords on purpose.

proptest! {
    #![proptest_config(config())]

    /// `/api/v1/namespaces/{ns}[/status|/finalize]`: the namespace object.
    #[test]
    fn prop_namespace_objects(
        cluster in prop::option::of(ident()),
        ns in ident(),
        sub in prop::option::of(select(&["status", "finalize"][..])),
        method in http_method(),
    ) {
        let mut path = format!("/api/v1/namespaces/{ns}");
        if let Some(s) = sub {
            let _ = write!(path, "/{s}");
        }
        let target = match &cluster {
            Some(c) => format!("/clusters/{c}{path}"),
            None => path.clone(),
        };
        let info = RESOLVER.parse(method, &target).unwrap();
        let mut parts = vec!["namespaces".to_owned(), ns.clone()];
        parts.extend(sub.map(str::to_owned));
        let verb = method_verb(method);
        let want = Fields {
            is_resource_request: true,
            path,
            verb: verb.to_owned(),
            api_prefix: "api".to_owned(),
            api_version: "v1".to_owned(),
            namespace: ns.clone(),
            resource: "namespaces".to_owned(),
            subresource: sub.unwrap_or("").to_owned(),
            name: ns,
            parts,
            cluster: cluster.unwrap_or_default(),
            resource_scope: Some(ResourceScope::Namespace),
            is_kubernetes_request: true,
            ..Fields::default()
        };
        prop_assert_eq!(fields(&info), want);
    }

    /// Workspaces and workspace templates are global resources; naming one
    /// puts the request in that workspace's scope.
    #[test]
    fn prop_workspace_objects(
        kind in select(&["workspaces", "workspacetemplates"][..]),
        prefix in select(&["apis", "kapis"][..]),
        ws in prop::option::of(ident()),
        method in http_method(),
    ) {
        let mut target = format!("/{prefix}/tenant.kubesphere.io/v1beta1/{kind}");
        if let Some(ws) = &ws {
            let _ = write!(target, "/{ws}");
        }
        let info = RESOLVER.parse(method, &target).unwrap();
        let named = ws.is_some();
        let verb = match method_verb(method) {
            "get" if !named => "list",
            "delete" if !named => "deletecollection",
            v => v,
        };
        prop_assert_eq!(&*info.verb, verb);
        prop_assert_eq!(&*info.resource, kind);
        prop_assert_eq!(info.name.as_ref(), ws.as_deref().unwrap_or(""));
        prop_assert_eq!(info.workspace.as_ref(), ws.as_deref().unwrap_or(""));
        let scope = if named { ResourceScope::Workspace } else { ResourceScope::Global };
        prop_assert_eq!(info.resource_scope, Some(scope));
    }

    /// A path verb with nothing after it is an error; the fields before it
    /// are kept.
    #[test]
    fn prop_special_verb_needs_a_resource(
        verb in select(&["watch", "proxy"][..]),
        prefix in select(&["api", "apis", "kapis", "kapi"][..]),
        group in dns_group(),
        method in http_method(),
    ) {
        let target = if is_groupless(prefix) {
            format!("/{prefix}/v1/{verb}")
        } else {
            format!("/{prefix}/{group}/v1/{verb}")
        };
        let failure = RESOLVER.parse(method, &target).unwrap_err();
        prop_assert!(matches!(failure.error, Error::MissingResource { .. }), "{:?}", failure.error);
        prop_assert!(failure.partial.is_resource_request);
        prop_assert_eq!(&*failure.partial.api_version, "v1");
    }

    /// Naming the cluster both ways is ambiguous.
    #[test]
    fn prop_cluster_named_twice_is_rejected(req in valid_request(), outer in ident()) {
        let ClusterForm::Legacy(_) = &req.spec.cluster else { return Ok(()) };
        let target = format!("/clusters/{outer}{}", req.target);
        let failure = RESOLVER.parse(req.spec.method, &target).unwrap_err();
        let is_ambiguous = matches!(failure.error, Error::AmbiguousCluster { .. });
        prop_assert!(is_ambiguous, "{:?}", failure.error);
    }
}

// ---------------------------------------------------------------------------
// (c) continued: non-resource requests against the model.
// ---------------------------------------------------------------------------

/// The methods whose lowercase form is a static string in the resolver.
const USUAL_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// Valid methods (RFC 9110 tokens): the usual ones, lowercase ones, and
/// unusual ones in any case.
fn token_method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(USUAL_METHODS).prop_map(str::to_owned),
        1 => select(&["get", "post", "purge", "M-SEARCH", "PropFind", "Get"][..])
            .prop_map(str::to_owned),
        1 => "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,8}",
    ]
}

/// A request that is not a resource request.
#[derive(Debug, Clone)]
struct NonResourceSpec {
    /// `/clusters/{cluster}` in front, if any.
    cluster: Option<String>,
    /// The segments behind it.
    segments: Vec<String>,
    trailing_slash: bool,
    method: String,
    /// A query, which plays no part in a non-resource request.
    query: Option<QuerySpec>,
}

fn is_api_prefix(s: &str) -> bool {
    matches!(s, "api" | "apis" | "kapis" | "kapi")
}

/// Segments of non-resource paths: `/healthz`-like paths (not under an API
/// prefix) of any depth, and discovery paths under a prefix, one segment
/// short of a resource.
fn non_resource_segments() -> impl Strategy<Value = Vec<String>> {
    let plain = (
        ident().prop_filter("API prefix", |s| !is_api_prefix(s)),
        prop::collection::vec(segment(), 0..4),
    )
        .prop_map(|(first, rest)| {
            let mut segs = vec![first];
            segs.extend(rest);
            segs
        });
    let discovery = (
        select(&["api", "apis", "kapis", "kapi"][..]),
        dns_group(),
        version(),
        0..3usize,
    )
        .prop_map(|(prefix, group, version, depth)| {
            let mut segs = vec![prefix.to_owned()];
            if is_groupless(prefix) {
                segs.extend((depth > 0).then_some(version));
            } else {
                segs.extend([group, version].into_iter().take(depth));
            }
            segs
        });
    prop_oneof![
        4 => plain,
        4 => discovery,
        1 => Just(Vec::new()),
    ]
}

fn non_resource_spec() -> impl Strategy<Value = NonResourceSpec> {
    (
        prop::option::weighted(0.3, ident()),
        non_resource_segments(),
        prop::bool::weighted(0.2),
        token_method(),
        prop::option::weighted(0.3, query_spec()),
    )
        .prop_map(
            |(cluster, segments, trailing_slash, method, query)| NonResourceSpec {
                cluster,
                segments,
                trailing_slash,
                method,
                query,
            },
        )
}

fn join_path(segments: &[String], trailing_slash: bool) -> String {
    let mut p = String::new();
    for s in segments {
        p.push('/');
        p.push_str(s);
    }
    if p.is_empty() || trailing_slash {
        p.push('/');
    }
    p
}

/// The path as sent, without the query.
fn non_resource_path(spec: &NonResourceSpec) -> String {
    let mut all: Vec<String> = Vec::new();
    if let Some(c) = &spec.cluster {
        all.push("clusters".to_owned());
        all.push(c.clone());
    }
    all.extend(spec.segments.iter().cloned());
    join_path(&all, spec.trailing_slash)
}

fn non_resource_target(spec: &NonResourceSpec) -> String {
    let path = non_resource_path(spec);
    match spec.query.as_ref().map(render_query) {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path,
    }
}

/// The reference model for a non-resource request.
fn expected_non_resource(spec: &NonResourceSpec) -> Fields {
    let mut f = Fields {
        path: non_resource_path(spec),
        // Kubernetes: `strings.ToLower(req.Method)`; methods are ASCII.
        verb: spec.method.to_ascii_lowercase(),
        ..Fields::default()
    };
    let depth = spec.segments.len() + if spec.cluster.is_some() { 2 } else { 0 };
    // Fewer than three segments: not even a cluster prefix is looked at.
    if depth >= 3 {
        if let Some(c) = &spec.cluster {
            f.cluster = c.clone();
            f.path = join_path(&spec.segments, spec.trailing_slash);
        }
        if let Some(first) = spec.segments.first().filter(|s| is_api_prefix(s)) {
            f.api_prefix = first.clone();
        }
    }
    // KubeSphere's isKubernetesRequest: the prefix, or for a path of one or
    // two segments, its first one.
    f.is_kubernetes_request = if f.api_prefix.is_empty() {
        let segs: Vec<&str> = f.path.split('/').filter(|s| !s.is_empty()).collect();
        (1..=2).contains(&segs.len()) && matches!(segs[0], "api" | "apis")
    } else {
        matches!(f.api_prefix.as_str(), "api" | "apis")
    };
    f
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_non_resource_request_matches_model(spec in non_resource_spec()) {
        let target = non_resource_target(&spec);
        let info = RESOLVER
            .parse(&spec.method, &target)
            .unwrap_or_else(|e| panic!("{} {target}: {e}", spec.method));
        prop_assert_eq!(fields(&info), expected_non_resource(&spec), "{} {}", spec.method, target);
        // Only an unusual method with an uppercase letter is copied; the
        // usual ones are static, lowercase ones borrowed.
        let copied = matches!(info.verb, std::borrow::Cow::Owned(_));
        let usual = USUAL_METHODS.contains(&spec.method.as_str());
        let lowercase = !spec.method.bytes().any(|b| b.is_ascii_uppercase());
        prop_assert_eq!(copied, !usual && !lowercase, "{}", spec.method);
        // The `http` types say the same.
        let method = http::Method::from_bytes(spec.method.as_bytes()).unwrap();
        if let Ok(uri) = target.parse::<http::Uri>() {
            prop_assert_eq!(owned(RESOLVER.parse_uri(&method, &uri)), owned(Ok(info)));
        }
    }

    /// Percent-encoding changes nothing for non-resource requests either.
    #[test]
    fn prop_non_resource_percent_encoding_is_transparent(
        spec in non_resource_spec(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 1..4),
    ) {
        let target = non_resource_target(&spec);
        let (path, query) = split_target(&target);
        prop_assume!(path.bytes().any(|b| b != b'/'));
        let encoded = percent_encode_some(path, &picks);
        let escaped = if query.is_empty() { encoded } else { format!("{encoded}?{query}") };
        let info = RESOLVER.parse(&spec.method, &escaped).unwrap_or_else(|e| panic!("{escaped}: {e}"));
        prop_assert_eq!(fields(&info), expected_non_resource(&spec), "{}", escaped);
    }
}

// ---------------------------------------------------------------------------
// (d) Label and field selectors.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Exists,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Greater,
    Less,
}

#[derive(Debug, Clone)]
struct Req {
    key: String,
    op: Op,
    values: Vec<String>,
    /// Whitespace to put between tokens (where the grammar allows it).
    space: &'static str,
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?",
        1 => select(&["in", "notin", "app", "kubesphere.io"][..]).prop_map(str::to_owned),
    ]
}

fn label_key() -> impl Strategy<Value = String> {
    let prefix = "[a-z0-9]([-a-z0-9]{0,5}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,5}[a-z0-9])?){0,2}";
    prop_oneof![
        3 => label_name(),
        1 => (prefix, label_name()).prop_map(|(p, n)| format!("{p}/{n}")),
    ]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?",
        1 => Just(String::new()),
        1 => select(&["in", "notin", "web"][..]).prop_map(str::to_owned),
    ]
}

fn requirement() -> impl Strategy<Value = Req> {
    let op = select(
        &[
            Op::Exists,
            Op::DoesNotExist,
            Op::Equals,
            Op::DoubleEquals,
            Op::NotEquals,
            Op::In,
            Op::NotIn,
            Op::Greater,
            Op::Less,
        ][..],
    );
    let space = select(&["", " ", "  ", "\t", "\n "][..]);
    (label_key(), op, space).prop_flat_map(|(key, op, space)| {
        let values = match op {
            Op::Exists | Op::DoesNotExist => Just(Vec::new()).boxed(),
            Op::In | Op::NotIn => prop::collection::vec(label_value(), 1..5).boxed(),
            Op::Greater | Op::Less => "[0-9]{1,6}".prop_map(|v| vec![v]).boxed(),
            _ => label_value().prop_map(|v| vec![v]).boxed(),
        };
        values.prop_map(move |values| Req {
            key: key.clone(),
            op,
            values,
            space,
        })
    })
}

fn label_selector() -> impl Strategy<Value = Vec<Req>> {
    prop::collection::vec(requirement(), 0..5)
}

fn render_requirement(r: &Req) -> String {
    let s = r.space;
    // `in`/`notin` must be separated from the key by whitespace.
    let word_gap = if s.is_empty() { " " } else { s };
    let exact = |op: &str| format!("{}{s}{op}{s}{}", r.key, r.values[0]);
    match r.op {
        Op::Exists => r.key.clone(),
        Op::DoesNotExist => format!("!{s}{}", r.key),
        Op::Equals => exact("="),
        Op::DoubleEquals => exact("=="),
        Op::NotEquals => exact("!="),
        Op::Greater => exact(">"),
        Op::Less => exact("<"),
        Op::In | Op::NotIn => {
            let op = if r.op == Op::In { "in" } else { "notin" };
            let values = r.values.join(&format!("{s},{s}"));
            format!("{}{word_gap}{op}{s}({s}{values}{s})", r.key)
        }
    }
}

fn render_label_selector(reqs: &[Req]) -> String {
    let mut out = String::new();
    for (i, r) in reqs.iter().enumerate() {
        if i > 0 {
            let _ = write!(out, "{},{}", r.space, r.space);
        }
        out.push_str(&render_requirement(r));
    }
    out
}

fn operator(op: Op) -> Operator {
    match op {
        Op::Exists => Operator::Exists,
        Op::DoesNotExist => Operator::DoesNotExist,
        Op::Equals => Operator::Equals,
        Op::DoubleEquals => Operator::DoubleEquals,
        Op::NotEquals => Operator::NotEquals,
        Op::In => Operator::In,
        Op::NotIn => Operator::NotIn,
        Op::Greater => Operator::GreaterThan,
        Op::Less => Operator::LessThan,
    }
}

/// Kubernetes' label matching, written naively.
fn reference_matches(reqs: &[Req], labels: &BTreeMap<String, String>) -> bool {
    reqs.iter().all(|r| {
        let have = labels.get(&r.key);
        let listed = |v: &String| r.values.contains(v);
        match r.op {
            Op::Exists => have.is_some(),
            Op::DoesNotExist => have.is_none(),
            Op::Equals | Op::DoubleEquals | Op::In => have.is_some_and(listed),
            Op::NotEquals | Op::NotIn => !have.is_some_and(listed),
            Op::Greater | Op::Less => {
                let (Some(have), Ok(want)) = (have, r.values[0].parse::<i64>()) else {
                    return false;
                };
                match have.parse::<i64>() {
                    Ok(h) if r.op == Op::Greater => h > want,
                    Ok(h) => h < want,
                    Err(_) => false,
                }
            }
        }
    })
}

/// Label sets drawn mostly from the selector's own keys and values.
fn labels_for(reqs: Vec<Req>) -> impl Strategy<Value = (Vec<Req>, BTreeMap<String, String>)> {
    let mut keys: Vec<String> = reqs.iter().map(|r| r.key.clone()).collect();
    keys.push("other".to_owned());
    let mut values: Vec<String> = reqs.iter().flat_map(|r| r.values.clone()).collect();
    values.extend(["", "5", "-3", "+7", "web", "99999999999999999999"].map(str::to_owned));
    let value = prop_oneof![4 => select(values), 1 => "[a-z0-9]{0,3}"];
    prop::collection::btree_map(select(keys), value, 0..6)
        .prop_map(move |labels| (reqs.clone(), labels))
}

/// Token soup for the label grammar.
fn label_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        6 => select(
            &[
                "x", "a", "in", "notin", "(", ")", ",", "!", "=", "==", "!=", ">", "<", " ", "\t",
                "\0", "-1", "5", "a/b", "kubesphere.io/workspace", "é", "-x", "x-", "A.io/b",
            ][..],
        )
        .prop_map(str::to_owned),
        1 => "\\PC{1,3}",
    ];
    prop::collection::vec(token, 0..12).prop_map(|t| t.concat())
}

/// Token soup for the field grammar.
fn field_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        6 => select(
            &[
                "a", "metadata.name", "=", "==", "!=", "!", ",", "\\", "\\,", "\\=", "\\\\", "\\x",
                "x", "é", " ",
            ][..],
        )
        .prop_map(str::to_owned),
        1 => "\\PC{1,3}",
    ];
    prop::collection::vec(token, 0..10).prop_map(|t| t.concat())
}

/// A field selector term: field, operator, unescaped value.
fn field_term() -> impl Strategy<Value = (String, &'static str, String)> {
    (
        "[a-z][a-zA-Z.]{0,12}",
        select(&["=", "==", "!="][..]),
        "[a-z0-9,=\\\\ é.-]{0,6}",
    )
}

fn escape_field_value(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_label_selector_round_trips(reqs in label_selector()) {
        let text = render_label_selector(&reqs);
        let parsed = LabelSelector::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let mut want: Vec<(String, Operator, Vec<String>)> = reqs
            .iter()
            .map(|r| {
                let mut values = r.values.clone();
                values.sort();
                values.dedup();
                (r.key.clone(), operator(r.op), values)
            })
            .collect();
        // Sorted by key; requirements on the same key keep their order.
        want.sort_by(|a, b| a.0.cmp(&b.0));
        let got: Vec<(String, Operator, Vec<String>)> = parsed
            .requirements()
            .iter()
            .map(|r| (r.key.clone(), r.operator, r.values.clone()))
            .collect();
        prop_assert_eq!(got, want, "{:?}", text);
        prop_assert_eq!(LabelSelector::validate(&text), Ok(()));
        prop_assert_eq!(parsed.is_empty(), reqs.is_empty());
    }

    #[test]
    fn prop_label_selector_matches_like_reference(
        (reqs, labels) in label_selector().prop_flat_map(labels_for),
    ) {
        let text = render_label_selector(&reqs);
        let parsed = LabelSelector::parse(&text).unwrap();
        prop_assert_eq!(parsed.matches(&labels), reference_matches(&reqs, &labels), "{:?} on {:?}", text, labels);
    }

    #[test]
    fn prop_label_validate_agrees_with_parse(s in prop_oneof![label_soup(), any::<String>(), label_selector().prop_map(|r| render_label_selector(&r))]) {
        prop_assert_eq!(LabelSelector::validate(&s), LabelSelector::parse(&s).map(|_| ()), "{:?}", s);
    }

    #[test]
    fn prop_field_selector_round_trips(terms in prop::collection::vec(field_term(), 0..5)) {
        let rendered: Vec<String> = terms
            .iter()
            .map(|(f, op, v)| format!("{f}{op}{}", escape_field_value(v)))
            .collect();
        let text = rendered.join(",");
        let parsed = FieldSelector::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        // Kubernetes sorts the raw terms before parsing them.
        let mut order: Vec<usize> = (0..terms.len()).collect();
        order.sort_by(|&a, &b| rendered[a].cmp(&rendered[b]));
        let want: Vec<FieldRequirement> = order
            .into_iter()
            .map(|i| {
                let (f, op, v) = &terms[i];
                FieldRequirement { field: f.clone(), equal: *op != "!=", value: v.clone() }
            })
            .collect();
        prop_assert_eq!(parsed.requirements(), &want[..], "{:?}", text);
        prop_assert_eq!(FieldSelector::validate(&text), Ok(()));
        let name = want.iter().find(|r| r.field == "metadata.name" && r.equal).map(|r| r.value.clone());
        prop_assert_eq!(
            FieldSelector::exact_match(&text, "metadata.name").unwrap().map(|c| c.into_owned()),
            name
        );
        // A term holds when the field equals (or differs from) the value; a
        // missing field reads as "".
        let fields: BTreeMap<&str, &str> = terms.iter().map(|(f, _, v)| (f.as_str(), v.as_str())).collect();
        let naive = want.iter().all(|r| (fields.get(r.field.as_str()).copied().unwrap_or("") == r.value) == r.equal);
        prop_assert_eq!(parsed.matches(|f| fields.get(f).copied()), naive);
    }

    #[test]
    fn prop_field_validate_agrees_with_parse(s in prop_oneof![field_soup(), any::<String>()]) {
        let parsed = FieldSelector::parse(&s);
        prop_assert_eq!(FieldSelector::validate(&s), parsed.clone().map(|_| ()), "{:?}", s);
        // exact_match fails exactly when parse does, and otherwise agrees with it.
        let exact = FieldSelector::exact_match(&s, "metadata.name").map(|o| o.map(|c| c.into_owned()));
        let want = parsed.map(|p| {
            p.requirements()
                .iter()
                .find(|r| r.field == "metadata.name" && r.equal)
                .map(|r| r.value.clone())
        });
        prop_assert_eq!(exact, want, "{:?}", s);
    }
}

// ---------------------------------------------------------------------------
// Regressions: disagreements with Kubernetes these tests once found.
// ---------------------------------------------------------------------------

/// Go's label lexer (k8s.io/apimachinery `labels.Lexer`) reads a NUL byte as
/// the end of the input only where a token starts. Inside an identifier or an
/// operator the NUL ends that token and is consumed, and lexing goes on after
/// it. So `x=a\0,y=b` is two requirements in Go, and `x=a\0b` is an error
/// ("found 'b', expected: ',' or 'end of string'"). NULs reach the selector
/// through `%00` in the query.
#[test]
fn label_selector_nul_ends_only_the_token() {
    let two = LabelSelector::parse("x=a\0,y=b").unwrap();
    assert_eq!(two.requirements().len(), 2, "{two:?}");
    assert_eq!(
        LabelSelector::parse("x=a\0b").unwrap_err().to_string(),
        "found 'b', expected: ',' or 'end of string'"
    );
    assert!(LabelSelector::parse("!\0x").is_ok());
    // Seen through a request: the label selector does not decode in Go, so
    // ListOptions decoding fails and the field selector names nothing.
    let info = RESOLVER
        .parse(
            "GET",
            "/api/v1/namespaces/ns/pods?labelSelector=x%3Da%00b&fieldSelector=metadata.name%3Dfoo",
        )
        .unwrap();
    assert_eq!(info.name, "");
    assert!(info.selector_error().is_some());
}

/// The authority of an absolute-form target was once dropped unchecked, so
/// `http://h#/api/v1/pods` read as a pod list while `http::Uri` (like any URL
/// parser) reads authority `h`, path `/` and a fragment. Go's
/// `url.ParseRequestURI` rejects the host `h#` and any control character, so
/// kube-apiserver answers 400; so do we.
#[test]
fn absolute_form_checks_the_authority() {
    let target = "http://h#/api/v1/pods";
    let uri: http::Uri = target.parse().unwrap();
    assert_eq!(uri.path(), "/");
    assert_eq!(
        RESOLVER.parse("GET", target).unwrap_err().error,
        Error::InvalidAuthority
    );
    assert_eq!(
        RESOLVER.parse("GET", "http://h#x").unwrap_err().error,
        Error::InvalidAuthority
    );
    assert!(RESOLVER.parse("GET", "http://a\tb/api/v1/pods").is_err());
}
