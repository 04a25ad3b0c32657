//! Non-resource requests end to end: a method and path, parsed by
//! ks-request-info into a RequestInfo, turned into [`Attributes`] and
//! decided by both evaluators. The verb a rule matches is the method in
//! lowercase (Kubernetes' `RequestInfoFactory`); matching stays
//! case-sensitive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ks_rbac::{Attributes, Policy, PolicySnapshot, ReferenceAuthorizer, Severity};
use ks_request_info::Resolver;

const MANIFESTS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: health-prober}
rules: [{nonResourceURLs: ["/healthz", "/healthz/*"], verbs: [get, post]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: health-prober}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: health-prober}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: prober}]
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata: {name: metrics-reader}
rules: [{nonResourceURLs: ["/metrics"], verbs: [get]}]
---
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRoleBinding
metadata: {name: ops-metrics-reader}
roleRef: {apiGroup: iam.kubesphere.io, kind: GlobalRole, name: metrics-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ops}]
"#;

fn policy() -> Policy {
    let (policy, diagnostics) = Policy::from_yaml("non-resource.yaml", MANIFESTS);
    assert!(
        diagnostics.iter().all(|d| d.severity < Severity::Error),
        "{diagnostics:#?}"
    );
    policy
}

#[test]
fn parsed_requests_match_lowercase_non_resource_rules() {
    let policy = policy();
    let snapshot = PolicySnapshot::build(&policy);
    let reference = ReferenceAuthorizer::new(&policy);
    let resolver = Resolver::default();
    // (method, target, user, allowed)
    let cases = [
        ("GET", "/healthz", "prober", true),
        ("POST", "/healthz", "prober", true),
        ("GET", "/healthz/", "prober", true),
        ("POST", "/healthz/ready", "prober", true),
        ("GET", "/healthz/live/deep?verbose=1", "prober", true),
        ("get", "/healthz", "prober", true),
        // Verbs the rule does not list.
        ("HEAD", "/healthz", "prober", false),
        ("PUT", "/healthz", "prober", false),
        ("DELETE", "/healthz/ready", "prober", false),
        // Paths it does not cover: `*` is a prefix match after `/healthz/`.
        ("GET", "/healthzz", "prober", false),
        ("GET", "/livez", "prober", false),
        // Global roles apply to non-resource requests too.
        ("GET", "/metrics", "ops", true),
        ("POST", "/metrics", "ops", false),
        ("GET", "/metrics", "prober", false),
        ("GET", "/healthz", "ops", false),
    ];
    let mut failures = Vec::new();
    for (method, target, user, allowed) in cases {
        let info = resolver.parse(method, target).unwrap();
        assert!(!info.is_resource_request, "{method} {target}");
        assert_eq!(info.verb, method.to_ascii_lowercase(), "{method} {target}");
        let attrs = Attributes::from_request_info(&info, user, &[]);
        let fast = snapshot.authorize(&attrs);
        let slow = reference.authorize(&attrs);
        assert_eq!(fast, slow, "{method} {target} as {user}");
        if fast.allowed != allowed {
            failures.push(format!(
                "{method} {target} as {user}: want {allowed}, got {fast:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_reason_names_the_lowercase_verb_and_the_grant() {
    let policy = policy();
    let snapshot = PolicySnapshot::build(&policy);
    let info = Resolver::default().parse("GET", "/healthz").unwrap();
    let attrs = Attributes::from_request_info(&info, "prober", &[]);
    assert_eq!(
        attrs.describe_operation().to_string(),
        r#""get" nonResourceURL "/healthz" cluster-wide"#
    );
    let verdict = snapshot.authorize(&attrs);
    assert!(verdict.allowed);
    assert!(
        verdict
            .reason
            .contains(r#"ClusterRoleBinding "health-prober""#),
        "{}",
        verdict.reason
    );
}

/// Rule matching is case-sensitive, as in Kubernetes: the method as sent is
/// not a verb any rule lists in lowercase.
#[test]
fn matching_stays_case_sensitive() {
    let policy = policy();
    let snapshot = PolicySnapshot::build(&policy);
    let reference = ReferenceAuthorizer::new(&policy);
    let info = Resolver::default().parse("GET", "/healthz").unwrap();
    let lowercase = Attributes::from_request_info(&info, "prober", &[]);
    let as_sent = Attributes {
        verb: "GET",
        ..lowercase
    };
    assert!(snapshot.is_allowed(&lowercase));
    assert!(!snapshot.is_allowed(&as_sent));
    assert!(!reference.authorize(&as_sent).allowed);
}
