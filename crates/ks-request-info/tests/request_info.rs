//! Table tests for `Resolver::parse`, written from the Kubernetes
//! (`pkg/endpoints/request`) and KubeSphere (`pkg/apiserver/request`)
//! semantics, plus this crate's stricter target rules.
//!
//! Each case is `(method, target, expectation)`. The expectation lists the
//! fields that are set, as `key=value` words; every field not listed must be
//! empty (or false). `rr` means a resource request, `kube` a Kubernetes
//! request; `path` defaults to the target's path; `parts` is `/`-joined.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ks_request_info::{
    Error, GroupResource, OwnedRequestInfo, Resolver, ResolverConfig, ResourceScope,
};

#[derive(Debug, Default, PartialEq)]
struct Expect {
    rr: bool,
    kube: bool,
    path: Option<String>,
    verb: String,
    prefix: String,
    group: String,
    version: String,
    ns: String,
    resource: String,
    sub: String,
    name: String,
    parts: String,
    fs: String,
    ls: String,
    ws: String,
    cluster: String,
    scope: Option<ResourceScope>,
    /// Debug-name prefix of the parse error, if the parse fails.
    err: Option<String>,
    /// Message of `selector_error()`, if any.
    selerr: Option<String>,
}

fn expect(spec: &str) -> Expect {
    let mut e = Expect::default();
    for word in spec.split_whitespace() {
        let (k, v) = word.split_once('=').unwrap_or((word, ""));
        let v = v.replace('~', " ");
        match k {
            "rr" => e.rr = true,
            "kube" => e.kube = true,
            "path" => e.path = Some(v),
            "verb" => e.verb = v,
            "prefix" => e.prefix = v,
            "group" => e.group = v,
            "version" => e.version = v,
            "ns" => e.ns = v,
            "res" => e.resource = v,
            "sub" => e.sub = v,
            "name" => e.name = v,
            "parts" => e.parts = v,
            "fs" => e.fs = v,
            "ls" => e.ls = v,
            "ws" => e.ws = v,
            "cluster" => e.cluster = v,
            "scope" => e.scope = Some(v.parse().unwrap()),
            "err" => e.err = Some(v),
            "selerr" => e.selerr = Some(v),
            other => panic!("unknown key {other:?} in {spec:?}"),
        }
    }
    e
}

fn actual(info: &OwnedRequestInfo, err: Option<&Error>) -> Expect {
    Expect {
        rr: info.is_resource_request,
        kube: info.is_kubernetes_request,
        path: Some(info.path.to_string()),
        verb: info.verb.to_string(),
        prefix: info.api_prefix.to_string(),
        group: info.api_group.to_string(),
        version: info.api_version.to_string(),
        ns: info.namespace.to_string(),
        resource: info.resource.to_string(),
        sub: info.subresource.to_string(),
        name: info.name.to_string(),
        parts: info.parts.as_str().to_owned(),
        fs: info.field_selector.to_string(),
        ls: info.label_selector.to_string(),
        ws: info.workspace.to_string(),
        cluster: info.cluster.to_string(),
        scope: info.resource_scope,
        err: err.map(|e| format!("{e:?}")),
        selerr: info.selector_error().map(|e| e.to_string()),
    }
}

fn check(resolver: &Resolver, cases: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for &(method, target, spec) in cases {
        let mut want = expect(spec);
        if want.path.is_none() {
            want.path = Some(target.split('?').next().unwrap().to_owned());
        }
        let result = resolver.parse(method, target);
        let (info, err) = match result {
            Ok(info) => (info.into_owned(), None),
            Err(f) => (f.partial.into_owned(), Some(f.error)),
        };
        let mut got = actual(&info, err.as_ref());
        // `err=` names a variant; compare by prefix of the Debug form.
        if let (Some(w), Some(g)) = (&want.err, &got.err)
            && g.starts_with(w.as_str())
        {
            got.err = Some(w.clone());
        }
        // `selerr=` may give only the start of a long message.
        if let (Some(w), Some(g)) = (&want.selerr, &got.selerr)
            && g.starts_with(w.as_str())
        {
            got.selerr = Some(w.clone());
        }
        if got != want {
            failures.push(format!(
                "{method} {target}\n  want {want:?}\n   got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Kubernetes' resource requests (TestGetAPIRequestInfo and friends).
#[test]
fn kubernetes_resource_requests() {
    let core = "rr kube prefix=api version=v1";
    let cases: Vec<(&str, &str, String)> = vec![
        ("GET", "/api/v1/namespaces", format!("{core} verb=list res=namespaces parts=namespaces scope=Cluster")),
        ("GET", "/api/v1/namespaces/other", format!("{core} verb=get ns=other res=namespaces name=other parts=namespaces/other scope=Namespace")),
        ("GET", "/api/v1/namespaces/other/pods", format!("{core} verb=list ns=other res=pods parts=pods scope=Namespace")),
        ("GET", "/api/v1/namespaces/other/pods/foo", format!("{core} verb=get ns=other res=pods name=foo parts=pods/foo scope=Namespace")),
        ("HEAD", "/api/v1/namespaces/other/pods/foo", format!("{core} verb=get ns=other res=pods name=foo parts=pods/foo scope=Namespace")),
        ("GET", "/api/v1/pods", format!("{core} verb=list res=pods parts=pods scope=Cluster")),
        ("HEAD", "/api/v1/pods", format!("{core} verb=list res=pods parts=pods scope=Cluster")),
        // Path verbs.
        ("GET", "/api/v1/proxy/namespaces/other/pods/foo", format!("{core} verb=proxy ns=other res=pods name=foo parts=pods/foo scope=Namespace")),
        ("GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", format!("{core} verb=proxy ns=other res=pods name=foo parts=pods/foo/subpath/not/a/subresource scope=Namespace")),
        ("GET", "/api/v1/watch/pods", format!("{core} verb=watch res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/watch/namespaces/other/pods", format!("{core} verb=watch ns=other res=pods parts=pods scope=Namespace")),
        ("POST", "/api/v1/watch/pods", format!("{core} verb=watch res=pods parts=pods scope=Cluster")),
        // Watch in the query.
        ("GET", "/api/v1/pods?watch=true", format!("{core} verb=watch res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/pods?watch=false", format!("{core} verb=list res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/namespaces/other/pods?watch=1", format!("{core} verb=watch ns=other res=pods parts=pods scope=Namespace")),
        ("GET", "/api/v1/namespaces/other/pods?watch=0", format!("{core} verb=list ns=other res=pods parts=pods scope=Namespace")),
        ("GET", "/api/v1/pods?watch=FALSE", format!("{core} verb=list res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/pods?watch=", format!("{core} verb=watch res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/pods?watch", format!("{core} verb=watch res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/pods?watch=yes", format!("{core} verb=watch res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/pods?watch=0&watch=1", format!("{core} verb=list res=pods parts=pods scope=Cluster")),
        ("GET", "/api/v1/pods?w%61tch=1", format!("{core} verb=watch res=pods parts=pods scope=Cluster")),
        // A named get ignores watch.
        ("GET", "/api/v1/namespaces/other/pods/foo?watch=1", format!("{core} verb=get ns=other res=pods name=foo parts=pods/foo scope=Namespace")),
        // Subresources.
        ("GET", "/api/v1/namespaces/other/pods/foo/status", format!("{core} verb=get ns=other res=pods name=foo sub=status parts=pods/foo/status scope=Namespace")),
        ("GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", format!("{core} verb=get ns=other res=pods name=foo sub=proxy parts=pods/foo/proxy/subpath scope=Namespace")),
        ("PUT", "/api/v1/namespaces/other/finalize", format!("{core} verb=update ns=other res=namespaces name=other sub=finalize parts=namespaces/other/finalize scope=Namespace")),
        ("PUT", "/api/v1/namespaces/other/status", format!("{core} verb=update ns=other res=namespaces name=other sub=status parts=namespaces/other/status scope=Namespace")),
        ("GET", "/api/v1/nodes/n1/proxy/metrics", format!("{core} verb=get res=nodes name=n1 sub=proxy parts=nodes/n1/proxy/metrics scope=Cluster")),
        // Verbs from methods.
        ("PATCH", "/api/v1/namespaces/other/pods/foo", format!("{core} verb=patch ns=other res=pods name=foo parts=pods/foo scope=Namespace")),
        ("DELETE", "/api/v1/namespaces/other/pods/foo", format!("{core} verb=delete ns=other res=pods name=foo parts=pods/foo scope=Namespace")),
        ("POST", "/api/v1/namespaces/other/pods", format!("{core} verb=create ns=other res=pods parts=pods scope=Namespace")),
        ("PUT", "/api/v1/namespaces/other/pods/foo", format!("{core} verb=update ns=other res=pods name=foo parts=pods/foo scope=Namespace")),
        ("OPTIONS", "/api/v1/pods", format!("{core} res=pods parts=pods scope=Cluster")),
        ("CONNECT", "/api/v1/namespaces/other/pods/foo/exec", format!("{core} ns=other res=pods name=foo sub=exec parts=pods/foo/exec scope=Namespace")),
        // Methods are case-sensitive, as in Go's switch.
        ("get", "/api/v1/pods", format!("{core} res=pods parts=pods scope=Cluster")),
        // deletecollection.
        ("DELETE", "/api/v1/nodes", format!("{core} verb=deletecollection res=nodes parts=nodes scope=Cluster")),
        ("DELETE", "/api/v1/namespaces", format!("{core} verb=deletecollection res=namespaces parts=namespaces scope=Cluster")),
        ("DELETE", "/api/v1/namespaces/other/pods", format!("{core} verb=deletecollection ns=other res=pods parts=pods scope=Namespace")),
        // Groups and versions.
        ("DELETE", "/apis/extensions/v1/namespaces/other/pods", "rr kube prefix=apis group=extensions version=v1 verb=deletecollection ns=other res=pods parts=pods scope=Namespace".into()),
        ("POST", "/apis/extensions/v1beta3/namespaces/other/pods", "rr kube prefix=apis group=extensions version=v1beta3 verb=create ns=other res=pods parts=pods scope=Namespace".into()),
        ("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale", "rr kube prefix=apis group=apps version=v1 verb=get ns=default res=deployments name=web sub=scale parts=deployments/web/scale scope=Namespace".into()),
        ("GET", "/apis/batch/v1/job", "rr kube prefix=apis group=batch version=v1 verb=list res=job parts=job scope=Cluster".into()),
        // Trailing slash is ignored.
        ("GET", "/api/v1/namespaces/other/pods/", format!("{core} verb=list ns=other res=pods parts=pods scope=Namespace")),
    ];
    let cases: Vec<(&str, &str, &str)> =
        cases.iter().map(|(m, u, s)| (*m, *u, s.as_str())).collect();
    check(&Resolver::default(), &cases);
}

/// Kubernetes' non-resource requests and the discovery rule for
/// `isKubernetesRequest`. The verb is the method in lowercase, as
/// Kubernetes' `RequestInfoFactory` sets it and authorizers match it.
#[test]
fn non_resource_requests() {
    check(
        &Resolver::default(),
        &[
            ("GET", "/", "verb=get"),
            ("GET", "", "verb=get"),
            ("GET", "/healthz", "verb=get"),
            ("GET", "/version", "verb=get"),
            (
                "POST",
                "/oauth/authorize?client_id=ks-console&response_type=token",
                "verb=post",
            ),
            ("GET", "/foo/bar", "verb=get"),
            ("POST", "/kapis/foo/bar/", "verb=post prefix=kapis"),
            ("GET", "/not-api/version/resource", "verb=get"),
            ("GET", "/api", "verb=get kube"),
            ("GET", "/api/", "verb=get kube"),
            ("GET", "/apis", "verb=get kube"),
            ("GET", "/api/v1", "verb=get kube"),
            ("GET", "/apis/apps", "verb=get kube"),
            // Three segments under apis: the prefix is recognized, no resource.
            ("GET", "/apis/apps/v1", "verb=get kube prefix=apis"),
            (
                "GET",
                "/apis/extensions/v1beta1/",
                "verb=get kube prefix=apis",
            ),
            ("GET", "/apis/version/resource", "verb=get kube prefix=apis"),
            ("GET", "/kapis", "verb=get"),
            ("GET", "/kapis/iam.kubesphere.io", "verb=get"),
            (
                "GET",
                "/kapis/iam.kubesphere.io/v1beta1",
                "verb=get prefix=kapis",
            ),
            ("GET", "/openapi/v2", "verb=get"),
            ("GET", "/openapi/v3/apis/apps/v1", "verb=get"),
            ("HEAD", "/healthz", "verb=head"),
            ("post", "/oauth/token", "verb=post"),
            ("PUT", "/healthz", "verb=put"),
            ("PATCH", "/healthz", "verb=patch"),
            ("DELETE", "/healthz", "verb=delete"),
            ("OPTIONS", "/healthz", "verb=options"),
            ("CONNECT", "/healthz", "verb=connect"),
            ("TRACE", "/healthz", "verb=trace"),
            ("M-SEARCH", "/healthz", "verb=m-search"),
            ("PropFind", "/healthz/ready", "verb=propfind"),
            // The query plays no part, not even an invalid selector.
            ("GET", "/healthz?labelSelector=(", "verb=get path=/healthz"),
        ],
    );
}

/// Stricter than Go: a name with a control character (which no object can
/// have) is not taken from the field selector, so none reaches logs.
#[test]
fn no_control_characters_in_names() {
    let info = Resolver::default()
        .parse("GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%0Ab")
        .unwrap();
    assert_eq!(info.verb, "list");
    assert_eq!(info.name, "");
    assert_eq!(info.field_selector, "metadata.name=a\nb");
}

/// The non-resource verb is what authorizers match, and the usual methods
/// give it without allocating: a static string, not a copy.
#[test]
fn non_resource_verb_is_the_lowercase_method() {
    use std::borrow::Cow;
    let r = Resolver::default();
    for (method, verb) in [("GET", "get"), ("POST", "post"), ("HEAD", "head")] {
        let info = r.parse(method, "/healthz").unwrap();
        assert_eq!(info.verb, verb);
        assert!(matches!(info.verb, Cow::Borrowed(_)), "{method}");
    }
    // A method that is already lowercase is borrowed from the input.
    let method = String::from("purge");
    let info = r.parse(&method, "/healthz").unwrap();
    assert!(matches!(info.verb, Cow::Borrowed(v) if v.as_ptr() == method.as_ptr()));
    // An unusual uppercase method is lowered into a copy.
    let info = r.parse("M-SEARCH", "/healthz").unwrap();
    assert!(matches!(&info.verb, Cow::Owned(v) if v == "m-search"));
    // The `http` adapters and the parse of a decoded path agree.
    let req = http::Request::post("/oauth/token").body(()).unwrap();
    assert_eq!(r.parse_request(&req).unwrap().verb, "post");
    let info = r.parse("GET", "/he%61lthz").unwrap();
    assert_eq!((&*info.verb, &*info.path), ("get", "/healthz"));
    // Resource verbs are untouched.
    assert_eq!(r.parse("GET", "/api/v1/pods").unwrap().verb, "list");
    assert_eq!(r.parse("OPTIONS", "/api/v1/pods").unwrap().verb, "");
}

/// A failed parse reports the lowercased method as the verb, as Kubernetes'
/// `NewRequestInfo` starts out, whether it failed on the input or on the
/// walk.
#[test]
fn failures_report_the_lowercase_method() {
    let r = Resolver::default();
    for (method, target) in [
        ("GET", "/api/v1/namespaces//pods"),
        ("POST", "http://h#x"),
        ("DELETE", "/api/v1/watch"),
        ("GET", "/clusters/a/apis/clusters/b/apps/v1/deployments"),
        ("PUT", "/api/v1/pods?a;b"),
    ] {
        let failure = r.parse(method, target).unwrap_err();
        assert_eq!(
            failure.partial.verb,
            method.to_ascii_lowercase(),
            "{method} {target}: {}",
            failure.error
        );
    }
}

/// Field and label selectors, and the name taken from `metadata.name`.
#[test]
fn selectors() {
    let g =
        "rr kube prefix=apis group=group version=version res=resource parts=resource scope=Cluster";
    let cases: Vec<(&str, &str, String)> = vec![
        ("GET", "/apis/group/version/resource", format!("{g} verb=list")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1", format!("{g} verb=list name=name1 fs=metadata.name=name1")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name%3Dname1", format!("{g} verb=list name=name1 fs=metadata.name=name1")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name==name1", format!("{g} verb=list name=name1 fs=metadata.name==name1")),
        ("GET", "/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1", format!("{g} verb=watch name=name1 fs=metadata.name=name1")),
        ("GET", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", format!("{g} verb=list fs=foo=bar ls=baz=qux")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name!=name1", format!("{g} verb=list fs=metadata.name!=name1")),
        // Only the first value counts.
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1&fieldSelector=metadata.name=name2", format!("{g} verb=list name=name1 fs=metadata.name=name1")),
        ("GET", "/apis/group/version/resource?labelSelector=a=b&labelSelector=c=d", format!("{g} verb=list ls=a=b")),
        // An invalid selector: the verb still resolves, the name is not taken,
        // and the error is Kubernetes'.
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo", format!("{g} verb=list fs=metadata.name=name1,foo selerr=invalid~selector:~'metadata.name=name1,foo';~can't~understand~'foo'")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true", format!("{g} verb=watch fs=metadata.name=name1,foo selerr=invalid~selector:")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false", format!("{g} verb=list fs=metadata.name=name1,foo selerr=invalid~selector:")),
        ("GET", "/apis/group/version/resource?fieldSelector=%2Abar", format!("{g} verb=list fs=*bar selerr=invalid~selector:~'*bar';~can't~understand~'*bar'")),
        ("GET", "/apis/group/version/resource?labelSelector=a%20b", format!("{g} verb=list ls=a~b selerr=unable~to~parse~requirement:~found~'b',~expected:~in,~notin,~=,~==,~!=,~gt,~lt")),
        // A broken label selector, limit or timeoutSeconds fails Kubernetes'
        // ListOptions decoding, so the name is not taken.
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=n&labelSelector=(", format!("{g} verb=list fs=metadata.name=n ls=( selerr=found~'(',")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=n&limit=ten", format!("{g} verb=list fs=metadata.name=n")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=n&timeoutSeconds=", format!("{g} verb=list fs=metadata.name=n")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=n&limit=500&timeoutSeconds=-1", format!("{g} verb=list name=n fs=metadata.name=n")),
        // Names that are not valid path segments are not taken.
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=..", format!("{g} verb=list fs=metadata.name=..")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=a%25b", format!("{g} verb=list fs=metadata.name=a%b")),
        ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=a/b", format!("{g} verb=list fs=metadata.name=a/b")),
        // deletecollection exposes selectors.
        ("DELETE", "/apis/group/version/resource?fieldSelector=a=b&labelSelector=c=d", format!("{g} verb=deletecollection fs=a=b ls=c=d")),
        // A named get or delete does not, nor does the verb-in-path watch.
        ("GET", "/apis/group/version/resource/n?fieldSelector=a=b&labelSelector=c=d", "rr kube prefix=apis group=group version=version res=resource name=n parts=resource/n scope=Cluster verb=get".into()),
        ("DELETE", "/apis/group/version/resource/n?labelSelector=c=d", "rr kube prefix=apis group=group version=version res=resource name=n parts=resource/n scope=Cluster verb=delete".into()),
        ("GET", "/apis/group/version/watch/resource?fieldSelector=a=b&labelSelector=c=d", format!("{g} verb=watch")),
        // Neither does create.
        ("POST", "/apis/group/version/resource?labelSelector=c=d", format!("{g} verb=create")),
        // `+` is a space in queries.
        ("GET", "/apis/group/version/resource?labelSelector=app+in+(a,b)", format!("{g} verb=list ls=app~in~(a,b)")),
    ];
    let cases: Vec<(&str, &str, &str)> =
        cases.iter().map(|(m, u, s)| (*m, *u, s.as_str())).collect();
    check(&Resolver::default(), &cases);
}

/// KubeSphere's extensions: clusters, workspaces, scopes.
#[test]
fn kubesphere_requests() {
    check(
        &Resolver::default(),
        &[
            // Cases from KubeSphere's own table.
            (
                "GET",
                "/apis/clusters/gondor/rbac.authorization.k8s.io/v1/clusterroles",
                "rr kube prefix=apis cluster=gondor group=rbac.authorization.k8s.io version=v1 verb=list res=clusterroles parts=clusterroles scope=Cluster path=/apis/rbac.authorization.k8s.io/v1/clusterroles",
            ),
            (
                "GET",
                "/api/v1/nodes",
                "rr kube prefix=api version=v1 verb=list res=nodes parts=nodes scope=Cluster",
            ),
            (
                "GET",
                "/api/clusters/gondor/v1/nodes",
                "rr kube prefix=api cluster=gondor version=v1 verb=list res=nodes parts=nodes scope=Cluster path=/api/v1/nodes",
            ),
            (
                "GET",
                "/apis/clusters/gondor/rbac.authorization.k8s.io/v1/namespaces/namespace1/roles",
                "rr kube prefix=apis cluster=gondor group=rbac.authorization.k8s.io version=v1 verb=list ns=namespace1 res=roles parts=roles scope=Namespace path=/apis/rbac.authorization.k8s.io/v1/namespaces/namespace1/roles",
            ),
            (
                "GET",
                "/apis/rbac.authorization.k8s.io/v1/namespaces/namespace1/roles",
                "rr kube prefix=apis group=rbac.authorization.k8s.io version=v1 verb=list ns=namespace1 res=roles parts=roles scope=Namespace",
            ),
            (
                "GET",
                "/kapis/resources.kubesphere.io/v1alpha3/workspaces/workspace1/namespaces",
                "rr prefix=kapis group=resources.kubesphere.io version=v1alpha3 verb=list ws=workspace1 res=namespaces parts=namespaces scope=Workspace",
            ),
            (
                "GET",
                "/kapis/clusters/gondor/resources.kubesphere.io/v1alpha3/workspaces/workspace1/namespaces",
                "rr prefix=kapis cluster=gondor group=resources.kubesphere.io version=v1alpha3 verb=list ws=workspace1 res=namespaces parts=namespaces scope=Workspace path=/kapis/resources.kubesphere.io/v1alpha3/workspaces/workspace1/namespaces",
            ),
            (
                "GET",
                "/apis/cluster.kubesphere.io/v1alpha1/clusters",
                "rr kube prefix=apis group=cluster.kubesphere.io version=v1alpha1 verb=list res=clusters parts=clusters scope=Global",
            ),
            (
                "GET",
                "/apis/cluster.kubesphere.io/v1alpha1/clusters/gondor",
                "rr kube prefix=apis group=cluster.kubesphere.io version=v1alpha1 verb=get res=clusters name=gondor parts=clusters/gondor scope=Global",
            ),
            (
                "GET",
                "/kapis/tenant.kubesphere.io/v1alpha2/workspaces",
                "rr prefix=kapis group=tenant.kubesphere.io version=v1alpha2 verb=list res=workspaces parts=workspaces scope=Global",
            ),
            // The /clusters/{cluster} prefix: path is what the member sees.
            (
                "GET",
                "/clusters/host/api/v1/namespaces/default/pods",
                "rr kube prefix=api cluster=host version=v1 verb=list ns=default res=pods parts=pods scope=Namespace path=/api/v1/namespaces/default/pods",
            ),
            (
                "GET",
                "/clusters/host/kapis/iam.kubesphere.io/v1beta1/users/admin",
                "rr prefix=kapis cluster=host group=iam.kubesphere.io version=v1beta1 verb=get res=users name=admin parts=users/admin scope=Global path=/kapis/iam.kubesphere.io/v1beta1/users/admin",
            ),
            (
                "GET",
                "/clusters/host/healthz/x",
                "verb=get cluster=host path=/healthz/x",
            ),
            (
                "GET",
                "/clusters/host/version",
                "verb=get cluster=host path=/version",
            ),
            // Fewer than three segments: no cluster, as in Go.
            ("GET", "/clusters/host", "verb=get"),
            // The rest is parsed as a whole path: discovery under a cluster.
            (
                "GET",
                "/clusters/host/api",
                "verb=get kube cluster=host prefix=api path=/api",
            ),
            (
                "GET",
                "/clusters/host/api/v1",
                "verb=get kube cluster=host prefix=api path=/api/v1",
            ),
            (
                "GET",
                "/clusters/host/apis/apps",
                "verb=get kube cluster=host prefix=apis path=/apis/apps",
            ),
            (
                "GET",
                "/clusters/host/apis/apps/v1/",
                "verb=get kube cluster=host prefix=apis path=/apis/apps/v1/",
            ),
            (
                "GET",
                "/apis/clusters/gondor",
                "verb=get kube cluster=gondor prefix=apis path=/apis",
            ),
            (
                "GET",
                "/api/clusters/gondor/",
                "verb=get kube cluster=gondor prefix=api path=/api/",
            ),
            // Naming the cluster twice is ambiguous; a lone inner `clusters`
            // names none.
            (
                "GET",
                "/clusters/a/apis/clusters",
                "verb=get kube cluster=a prefix=apis path=/apis/clusters",
            ),
            (
                "GET",
                "/clusters/a/apis/clusters/b/apps/v1/deployments",
                "verb=get kube cluster=a prefix=apis path=/apis/clusters/b/apps/v1/deployments err=AmbiguousCluster",
            ),
            // Workspaces and workspace templates.
            (
                "GET",
                "/kapis/iam.kubesphere.io/v1beta1/workspaces/ws1/workspacemembers",
                "rr prefix=kapis group=iam.kubesphere.io version=v1beta1 verb=list ws=ws1 res=workspacemembers parts=workspacemembers scope=Workspace",
            ),
            (
                "GET",
                "/kapis/iam.kubesphere.io/v1beta1/workspaces/ws1/workspacemembers/alice",
                "rr prefix=kapis group=iam.kubesphere.io version=v1beta1 verb=get ws=ws1 res=workspacemembers name=alice parts=workspacemembers/alice scope=Workspace",
            ),
            (
                "GET",
                "/apis/tenant.kubesphere.io/v1beta1/workspaces/ws1",
                "rr kube prefix=apis group=tenant.kubesphere.io version=v1beta1 verb=get ws=ws1 res=workspaces name=ws1 parts=workspaces/ws1 scope=Workspace",
            ),
            (
                "DELETE",
                "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates/ws1",
                "rr kube prefix=apis group=tenant.kubesphere.io version=v1alpha2 verb=delete ws=ws1 res=workspacetemplates name=ws1 parts=workspacetemplates/ws1 scope=Workspace",
            ),
            (
                "GET",
                "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/ws1/clusters",
                "rr prefix=kapis group=tenant.kubesphere.io version=v1alpha3 verb=list ws=ws1 res=clusters parts=clusters scope=Workspace",
            ),
            (
                "GET",
                "/kapis/resources.kubesphere.io/v1alpha3/workspaces/ws1/namespaces/ns1/pods",
                "rr prefix=kapis group=resources.kubesphere.io version=v1alpha3 verb=list ws=ws1 ns=ns1 res=pods parts=pods scope=Namespace",
            ),
            (
                "POST",
                "/kapis/iam.kubesphere.io/v1beta1/workspaces/ws1/workspacemembers",
                "rr prefix=kapis group=iam.kubesphere.io version=v1beta1 verb=create ws=ws1 res=workspacemembers parts=workspacemembers scope=Workspace",
            ),
            // Global resources.
            (
                "GET",
                "/apis/iam.kubesphere.io/v1alpha2/users/admin",
                "rr kube prefix=apis group=iam.kubesphere.io version=v1alpha2 verb=get res=users name=admin parts=users/admin scope=Global",
            ),
            (
                "PUT",
                "/apis/iam.kubesphere.io/v1alpha2/globalroles/platform-admin",
                "rr kube prefix=apis group=iam.kubesphere.io version=v1alpha2 verb=update res=globalroles name=platform-admin parts=globalroles/platform-admin scope=Global",
            ),
            (
                "GET",
                "/apis/iam.kubesphere.io/v1alpha2/globalrolebindings",
                "rr kube prefix=apis group=iam.kubesphere.io version=v1alpha2 verb=list res=globalrolebindings parts=globalrolebindings scope=Global",
            ),
            // Same resource name in another group is not global.
            (
                "GET",
                "/apis/example.com/v1/users",
                "rr kube prefix=apis group=example.com version=v1 verb=list res=users parts=users scope=Cluster",
            ),
            // The kapi groupless prefix.
            (
                "GET",
                "/kapi/v1/things/t1",
                "rr prefix=kapi version=v1 verb=get res=things name=t1 parts=things/t1 scope=Cluster",
            ),
            // A watch on a workspace's namespaces.
            (
                "GET",
                "/api/v1/watch/namespaces?labelSelector=kubesphere.io/workspace=system-workspace",
                "rr kube prefix=api version=v1 verb=watch res=namespaces parts=namespaces ws=system-workspace scope=Workspace",
            ),
            (
                "GET",
                "/api/v1/namespaces?watch=true&labelSelector=kubesphere.io%2Fworkspace%3Dws1",
                "rr kube prefix=api version=v1 verb=watch res=namespaces parts=namespaces ws=ws1 scope=Workspace ls=kubesphere.io/workspace=ws1",
            ),
            // The rule is KubeSphere's plain prefix match: the rest is taken as is.
            (
                "GET",
                "/api/v1/namespaces?watch=1&labelSelector=kubesphere.io/workspace=ws1,a=b",
                "rr kube prefix=api version=v1 verb=watch res=namespaces parts=namespaces ws=ws1,a=b scope=Workspace ls=kubesphere.io/workspace=ws1,a=b",
            ),
            // Only for watches.
            (
                "GET",
                "/api/v1/namespaces?labelSelector=kubesphere.io/workspace=ws1",
                "rr kube prefix=api version=v1 verb=list res=namespaces parts=namespaces scope=Cluster ls=kubesphere.io/workspace=ws1",
            ),
            (
                "GET",
                "/api/v1/namespaces?watch=1&labelSelector=kubesphere.io/workspace!=ws1",
                "rr kube prefix=api version=v1 verb=watch res=namespaces parts=namespaces scope=Cluster ls=kubesphere.io/workspace!=ws1",
            ),
        ],
    );
}

/// Special verbs with nothing after them fail, keeping what was known.
#[test]
fn special_verb_without_resource() {
    check(
        &Resolver::default(),
        &[
            (
                "GET",
                "/api/v1/watch",
                "rr kube prefix=api version=v1 verb=get err=MissingResource",
            ),
            (
                "GET",
                "/api/v1/proxy/",
                "rr kube prefix=api version=v1 verb=get err=MissingResource path=/api/v1/proxy/",
            ),
            (
                "GET",
                "/apis/apps/v1/watch?x=1",
                "rr kube prefix=apis group=apps version=v1 verb=get err=MissingResource",
            ),
            (
                "GET",
                "/clusters/c1/kapis/g.io/v1/proxy",
                "rr prefix=kapis cluster=c1 group=g.io version=v1 verb=get err=MissingResource path=/kapis/g.io/v1/proxy",
            ),
        ],
    );
    let f = Resolver::default()
        .parse("GET", "/api/v1/watch?token=secret")
        .unwrap_err();
    assert_eq!(
        f.to_string(),
        "unable to determine kind and namespace from url: /api/v1/watch"
    );
}

/// The target rules: ambiguous or malformed targets are rejected; nothing is
/// normalized.
#[test]
fn rejected_targets() {
    check(
        &Resolver::default(),
        &[
            (
                "GET",
                "/api/v1/namespaces//pods",
                "verb=get err=EmptySegment",
            ),
            ("GET", "//api/v1/pods", "verb=get err=EmptySegment"),
            ("GET", "/api/v1/pods//", "verb=get err=EmptySegment"),
            (
                "GET",
                "/api/v1/namespaces/./pods",
                "verb=get err=DotSegment",
            ),
            (
                "GET",
                "/api/v1/namespaces/../pods",
                "verb=get err=DotSegment",
            ),
            (
                "GET",
                "/api/v1/namespaces/%2E%2E/pods",
                "verb=get err=DotSegment",
            ),
            (
                "GET",
                "/api/v1/namespaces/a%2Fb/pods",
                "verb=get err=EncodedSlash",
            ),
            (
                "GET",
                "/api/v1/namespaces/a%2/pods",
                "verb=get err=InvalidPercentEncoding",
            ),
            (
                "GET",
                "/api/v1/namespaces/a%00/pods",
                "verb=get err=ControlCharacter",
            ),
            ("GET", "/api/v1/namespaces/%FF/pods", "verb=get err=NotUtf8"),
            ("GET", "/api/v1/pods#frag", "verb=get err=Fragment"),
            ("GET", "api/v1/pods", "verb=get err=NotAbsolutePath"),
            (
                "GET",
                "/api/v1/pods?a=1;b=2",
                "verb=get err=SemicolonInQuery",
            ),
            (
                "GET",
                "/api/v1/pods?watch=%zz",
                "verb=get err=InvalidPercentEncoding",
            ),
            ("GE T", "/api/v1/pods", "verb=ge~t err=InvalidMethod"),
            ("", "/api/v1/pods", "err=InvalidMethod"),
        ],
    );
    // Non-UTF-8 in a value that is read fails the parse, keeping the
    // fields known so far.
    let f = Resolver::default()
        .parse("GET", "/api/v1/pods?watch=%FF")
        .unwrap_err();
    assert!(matches!(f.error, Error::NotUtf8 { .. }));
    assert_eq!(f.partial.resource, "pods");
}

#[test]
fn percent_decoding_is_transparent() {
    let r = Resolver::default();
    let plain = r
        .parse("GET", "/api/v1/namespaces/default/pods/web:1")
        .unwrap()
        .into_owned();
    let encoded = r
        .parse("GET", "/api/v1/n%61mespaces/default/pods/web%3A1")
        .unwrap();
    assert_eq!(encoded, plain);
    let unicode = r.parse("GET", "/api/v1/namespaces/%C3%BC/pods").unwrap();
    assert_eq!(unicode.namespace, "ü");
}

#[test]
fn limits_are_enforced() {
    let r = Resolver::default();
    let long = format!("/api/v1/namespaces/{}/pods", "a".repeat(9000));
    assert!(matches!(
        r.parse("GET", &long).unwrap_err().error,
        Error::PathTooLong { .. }
    ));
    let q = format!("/api/v1/pods?labelSelector={}", "a".repeat(70_000));
    let e = r.parse("GET", &q).unwrap_err().error;
    assert!(matches!(e, Error::QueryTooLong { .. }));
    assert_eq!(e.http_status(), 414);

    let tight = Resolver::new(ResolverConfig {
        limits: ks_request_info::Limits {
            max_path_len: 16,
            max_query_len: 4,
        },
        ..ResolverConfig::default()
    })
    .unwrap();
    assert!(tight.parse("GET", "/api/v1/pods").is_ok());
    assert!(tight.parse("GET", "/api/v1/namespaces/x").is_err());
    assert!(tight.parse("GET", "/api/v1/pods?watch=1").is_err());
}

#[test]
fn absolute_urls() {
    let r = Resolver::default();
    let a = r
        .parse("GET", "https://ks.example.com:6443/api/v1/pods?watch=1")
        .unwrap();
    let b = r.parse("GET", "/api/v1/pods?watch=1").unwrap();
    assert_eq!(a, b);
}

#[test]
fn http_adapters_agree() {
    let r = Resolver::default();
    let req = http::Request::builder()
        .method("DELETE")
        .uri("/kapis/clusters/c1/iam.kubesphere.io/v1beta1/workspaces/ws/workspacemembers?labelSelector=a%3Db")
        .body(())
        .unwrap();
    let via_request = r.parse_request(&req).unwrap();
    let via_str = r
        .parse("DELETE", "/kapis/clusters/c1/iam.kubesphere.io/v1beta1/workspaces/ws/workspacemembers?labelSelector=a%3Db")
        .unwrap();
    assert_eq!(via_request, via_str);
    assert_eq!(via_request.verb, "deletecollection");
    assert_eq!(via_request.label_selector, "a=b");
    assert_eq!(via_request.cluster, "c1");
}

/// Custom prefixes and global resources.
#[test]
fn configuration() {
    let r = Resolver::new(ResolverConfig {
        api_prefixes: vec!["api".into(), "apis".into(), "custom".into()],
        groupless_prefixes: vec!["custom".into()],
        global_resources: vec![GroupResource::new("", "nodes")],
        ..ResolverConfig::default()
    })
    .unwrap();
    check(
        &r,
        &[
            (
                "GET",
                "/custom/v1/things",
                "rr prefix=custom version=v1 verb=list res=things parts=things scope=Cluster",
            ),
            // `api` is no longer groupless: its second segment is a group.
            (
                "GET",
                "/api/v1/nodes/n1",
                "rr kube prefix=api group=v1 version=nodes verb=list res=n1 parts=n1 scope=Cluster",
            ),
            (
                "GET",
                "/apis/x.io/v1/nodes",
                "rr kube prefix=apis group=x.io version=v1 verb=list res=nodes parts=nodes scope=Cluster",
            ),
            ("GET", "/kapis/iam.kubesphere.io/v1/users", "verb=get"),
        ],
    );
    let none = Resolver::new(ResolverConfig {
        global_resources: vec![],
        ..ResolverConfig::default()
    })
    .unwrap();
    let info = none
        .parse("GET", "/apis/iam.kubesphere.io/v1alpha2/users")
        .unwrap();
    assert_eq!(info.resource_scope, Some(ResourceScope::Cluster));
}

#[test]
fn borrows_when_nothing_is_decoded() {
    use std::borrow::Cow;
    let r = Resolver::default();
    let info = r
        .parse("GET", "/api/v1/namespaces/default/pods?labelSelector=a=b")
        .unwrap();
    assert!(matches!(info.path, Cow::Borrowed(_)));
    assert!(matches!(info.namespace, Cow::Borrowed(_)));
    assert!(matches!(info.label_selector, Cow::Borrowed(_)));
    let info = r
        .parse("GET", "/api/v1/namespaces/default/pods?labelSelector=a%3Db")
        .unwrap();
    assert!(matches!(info.label_selector, Cow::Owned(_)));
    assert!(matches!(info.namespace, Cow::Borrowed(_)));
}
