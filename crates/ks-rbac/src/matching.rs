//! Rule matching, exactly as Kubernetes does it.
//!
//! The semantics are those of Kubernetes' evaluation helpers
//! (`pkg/apis/rbac/v1/evaluation_helpers.go`, used by the RBAC authorizer in
//! `plugin/pkg/auth/authorizer/rbac`), which KubeSphere copies verbatim:
//!
//! - verbs and API groups: `*` matches anything, otherwise an exact,
//!   case-sensitive match (a rule verb `GET` does not match `get`);
//! - resources: `*` matches anything; otherwise the rule entry must equal
//!   `resource` or, when the request has a subresource, the combined
//!   `resource/subresource`, or be `*/subresource` for the requested
//!   subresource;
//! - resource names: an empty list matches every name (including none),
//!   otherwise an exact match;
//! - non-resource URLs: `*` matches every path, otherwise an exact match or,
//!   for an entry ending in `*`, a prefix match on the entry with all its
//!   trailing `*` removed.
//!
//! A resource request is allowed by a rule when verb, API group, resource and
//! name all match; a non-resource request when verb and URL match.

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::Attributes;

/// The wildcard of verbs, API groups, resources and non-resource URLs.
pub const ALL: &str = "*";

fn list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or_default()
}

/// Kubernetes' `VerbMatches`.
pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == ALL || v == verb)
}

/// Kubernetes' `APIGroupMatches`.
pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    list(&rule.api_groups)
        .iter()
        .any(|g| g == ALL || g == group)
}

/// Whether one rule resource entry matches `resource` with `subresource`
/// (empty for none): one iteration of Kubernetes' `ResourceMatches`, which
/// compares against the combined `resource/subresource` without building it.
pub fn resource_entry_matches(entry: &str, resource: &str, subresource: &str) -> bool {
    if entry == ALL {
        return true;
    }
    if subresource.is_empty() {
        return entry == resource;
    }
    // Exact match against `resource/subresource`.
    let combined = entry.len() == resource.len() + 1 + subresource.len()
        && entry.starts_with(resource)
        && entry.as_bytes()[resource.len()] == b'/'
        && entry.ends_with(subresource);
    // `*/subresource`.
    combined
        || (entry.len() == subresource.len() + 2
            && entry.starts_with("*/")
            && entry.ends_with(subresource))
}

/// Kubernetes' `ResourceMatches`, taking the resource and subresource
/// separately (the combined form is `resource/subresource`).
pub fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    list(&rule.resources)
        .iter()
        .any(|r| resource_entry_matches(r, resource, subresource))
}

/// Kubernetes' `ResourceNameMatches`: an empty list matches every name.
pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    let names = list(&rule.resource_names);
    names.is_empty() || names.iter().any(|n| n == name)
}

/// Whether one non-resource URL entry matches `path`.
pub fn url_entry_matches(entry: &str, path: &str) -> bool {
    if entry == ALL || entry == path {
        return true;
    }
    // Go's `strings.TrimRight(url, "*")` removes every trailing star.
    entry.ends_with('*') && path.starts_with(entry.trim_end_matches('*'))
}

/// Kubernetes' `NonResourceURLMatches`.
pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    list(&rule.non_resource_urls)
        .iter()
        .any(|u| url_entry_matches(u, path))
}

/// Kubernetes' `RuleAllows`: whether `rule` allows the request.
pub fn rule_allows(rule: &PolicyRule, attrs: &Attributes<'_>) -> bool {
    if attrs.is_resource_request {
        verb_matches(rule, attrs.verb)
            && api_group_matches(rule, attrs.api_group)
            && resource_matches(rule, attrs.resource, attrs.subresource)
            && resource_name_matches(rule, attrs.name)
    } else {
        verb_matches(rule, attrs.verb) && non_resource_url_matches(rule, attrs.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| (*s).to_owned()).collect())
    }

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            api_groups: strs(groups),
            resources: strs(resources),
            resource_names: strs(names),
            non_resource_urls: None,
        }
    }

    fn url_rule(verbs: &[&str], urls: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            non_resource_urls: strs(urls),
            ..Default::default()
        }
    }

    #[test]
    fn resource_entries() {
        // (entry, resource, subresource, matches)
        let table = [
            ("*", "pods", "", true),
            ("*", "pods", "log", true),
            ("pods", "pods", "", true),
            ("pods", "pods", "log", false),
            ("pods/log", "pods", "log", true),
            ("pods/log", "pods", "", false),
            ("pods/log", "pods", "status", false),
            ("*/log", "pods", "log", true),
            ("*/log", "nodes", "log", true),
            ("*/log", "pods", "", false),
            ("*/log", "pods", "logs", false),
            ("*/", "pods", "", false),
            ("*/", "*/", "", true),
            ("pods/*", "pods", "log", false),
            ("Pods", "pods", "", false),
            ("pod", "pods", "", false),
            ("pods/lo", "pods", "log", false),
            ("a/b/c", "a/b", "c", true),
            ("a/b/c", "a", "b/c", true),
            ("", "", "", true),
        ];
        for (entry, res, sub, want) in table {
            assert_eq!(
                resource_entry_matches(entry, res, sub),
                want,
                "{entry:?} vs {res:?}/{sub:?}"
            );
        }
    }

    #[test]
    fn urls() {
        let table = [
            ("*", "/anything", true),
            ("/healthz", "/healthz", true),
            ("/healthz", "/healthz/", false),
            ("/healthz/*", "/healthz/ping", true),
            ("/healthz/*", "/healthz/", true),
            ("/healthz/*", "/healthz", false),
            ("/api**", "/apis", true),
            ("**", "/x", true),
            ("/API", "/api", false),
            ("/a*b", "/axb", false),
        ];
        for (entry, path, want) in table {
            assert_eq!(
                url_entry_matches(entry, path),
                want,
                "{entry:?} vs {path:?}"
            );
        }
    }

    #[test]
    fn verbs_groups_names_are_case_sensitive_with_wildcards() {
        let r = rule(&["GET", "list"], &["", "apps"], &["pods"], &[]);
        assert!(!verb_matches(&r, "get"));
        assert!(verb_matches(&r, "GET"));
        assert!(verb_matches(&r, "list"));
        assert!(api_group_matches(&r, ""));
        assert!(api_group_matches(&r, "apps"));
        assert!(!api_group_matches(&r, "Apps"));
        assert!(resource_name_matches(&r, ""));
        assert!(resource_name_matches(&r, "x"));
        let star = rule(&["*"], &["*"], &["*"], &["a", "b"]);
        assert!(verb_matches(&star, "anything"));
        assert!(api_group_matches(&star, "x.y"));
        assert!(resource_name_matches(&star, "a"));
        assert!(!resource_name_matches(&star, ""));
        assert!(!resource_name_matches(&star, "c"));
        let none = PolicyRule::default();
        assert!(!verb_matches(&none, "get"));
        assert!(!api_group_matches(&none, ""));
        assert!(!resource_matches(&none, "pods", ""));
        assert!(!non_resource_url_matches(&none, "/"));
    }

    #[test]
    fn rule_allows_resource_and_non_resource() {
        let r = rule(&["get"], &[""], &["pods", "pods/log"], &[]);
        let mut a = Attributes {
            verb: "get",
            resource: "pods",
            is_resource_request: true,
            ..Attributes::default()
        };
        assert!(rule_allows(&r, &a));
        a.subresource = "log";
        assert!(rule_allows(&r, &a));
        a.subresource = "exec";
        assert!(!rule_allows(&r, &a));
        // A resource rule never allows a non-resource request, and back.
        let n = Attributes {
            verb: "get",
            path: "/healthz",
            ..Attributes::default()
        };
        assert!(!rule_allows(&r, &n));
        let u = url_rule(&["get"], &["/healthz"]);
        assert!(rule_allows(&u, &n));
        assert!(!rule_allows(&u, &a));
    }
}
