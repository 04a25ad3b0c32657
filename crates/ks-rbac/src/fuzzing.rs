//! Entry points for fuzz targets (`fuzz/fuzz_targets/`) and the tests that
//! replay their corpora. Not part of the stable API.

use k8s_openapi::api::rbac::v1::PolicyRule;
use ks_request_info::ResourceScope;

use crate::{
    Attributes, AttributesRecord, Extra, Groups, Policy, PolicySnapshot, ReferenceAuthorizer,
    Strictness,
};

/// The line separating the policy from the requests in a fuzz input.
pub const SEPARATOR: &str = "\n%%\n";

/// Most requests evaluated per input (explicit ones first, then probes).
const MAX_REQUESTS: usize = 64;

/// Decodes a policy and requests from `data` and checks that both
/// evaluators agree on every request. Panics on a disagreement; must never
/// panic otherwise.
///
/// The input is UTF-8 (lossily decoded): YAML manifests, then optionally a
/// line `%%` followed by one JSON [`AttributesRecord`] per line (those with
/// `extra` are also decided without it: the answer must not change). Requests
/// are also made up from the names the policy mentions, so inputs without
/// requests still exercise the evaluators.
pub fn check_policy(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (yaml, requests) = match text.split_once(SEPARATOR) {
        Some((yaml, requests)) => (yaml, requests),
        None => (&*text, ""),
    };
    let (policy, diagnostics) = Policy::from_yaml("fuzz", yaml);
    for d in &diagnostics {
        let _ = d.to_string();
    }
    if let Err(e) = Policy::new().load_yaml("fuzz", yaml, Strictness::Strict) {
        let _ = e.to_string();
    }
    // The reference walk is quadratic; keep inputs it can judge quickly.
    if policy.binding_count() > 200 {
        return;
    }
    let snapshot = PolicySnapshot::build(&policy);
    let reference = ReferenceAuthorizer::new(&policy);

    let records: Vec<AttributesRecord> = requests
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .take(MAX_REQUESTS)
        .collect();
    for record in &records {
        if let Ok(attrs) = record.as_attributes() {
            check(&snapshot, &reference, &attrs);
        }
    }
    let probes = Probes::from_policy(&policy);
    let mut budget = MAX_REQUESTS.saturating_sub(records.len());
    probes.each(|attrs| {
        if budget == 0 {
            return false;
        }
        budget -= 1;
        check(&snapshot, &reference, attrs);
        true
    });
}

fn check(snapshot: &PolicySnapshot, reference: &ReferenceAuthorizer<'_>, attrs: &Attributes<'_>) {
    let want = reference.authorize(attrs);
    let got = snapshot.authorize(attrs);
    assert_eq!(got, want, "snapshot and reference disagree on {attrs:?}");
    assert_eq!(
        snapshot.authorize_by_walk(attrs),
        want,
        "rule walk disagrees on {attrs:?}"
    );
    // RBAC ignores the user's extra attributes.
    if !attrs.extra.is_empty() {
        let without = Attributes {
            extra: Extra::default(),
            ..*attrs
        };
        assert_eq!(
            snapshot.authorize(&without),
            want,
            "extra changed the decision on {attrs:?}"
        );
    }
}

/// Names taken from a policy to make up requests.
#[derive(Default)]
struct Probes {
    users: Vec<String>,
    groups: Vec<String>,
    rules: Vec<PolicyRule>,
    namespaces: Vec<String>,
    workspaces: Vec<String>,
}

fn first(v: &Option<Vec<String>>) -> &str {
    v.as_deref()
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or("")
}

impl Probes {
    fn from_policy(p: &Policy) -> Self {
        let mut probes = Probes::default();
        let subjects = (p
            .global_role_bindings
            .iter()
            .flat_map(|b| b.subjects.iter()))
        .chain(
            p.workspace_role_bindings
                .iter()
                .flat_map(|b| b.subjects.iter()),
        )
        .chain(
            p.role_bindings
                .iter()
                .flat_map(|b| b.subjects.iter().flatten()),
        )
        .chain(
            p.cluster_role_bindings
                .iter()
                .flat_map(|b| b.subjects.iter().flatten()),
        );
        for s in subjects.take(8) {
            match s.kind.as_str() {
                "Group" => probes.groups.push(s.name.clone()),
                "ServiceAccount" => probes.users.push(format!(
                    "system:serviceaccount:{}:{}",
                    s.namespace.as_deref().unwrap_or(""),
                    s.name
                )),
                _ => probes.users.push(s.name.clone()),
            }
        }
        let rules = (p.roles.iter().flat_map(|r| r.rules.iter().flatten()))
            .chain(
                p.cluster_roles
                    .iter()
                    .flat_map(|r| r.rules.iter().flatten()),
            )
            .chain(p.global_roles.iter().flat_map(|r| r.rules.iter()))
            .chain(p.workspace_roles.iter().flat_map(|r| r.rules.iter()));
        probes.rules = rules.take(4).cloned().collect();
        let namespaces = (p.role_bindings.iter().map(|b| &b.metadata))
            .chain(p.namespaces.iter().map(|n| &n.metadata))
            .filter_map(|m| m.namespace.clone().or_else(|| m.name.clone()));
        probes.namespaces = namespaces.take(3).collect();
        probes.workspaces = (p.workspace_role_bindings.iter())
            .filter_map(|b| ks_types::meta::workspace_of(&b.metadata).map(str::to_owned))
            .take(2)
            .collect();
        probes
    }

    /// Calls `f` with made-up requests until it returns false.
    fn each(&self, mut f: impl FnMut(&Attributes<'_>) -> bool) {
        let users = self.users.iter().map(String::as_str).chain(["nobody"]);
        let scopes = [
            ResourceScope::Global,
            ResourceScope::Cluster,
            ResourceScope::Workspace,
            ResourceScope::Namespace,
        ];
        for user in users {
            for rule in &self.rules {
                for scope in scopes {
                    let namespace = self.namespaces.first().map(String::as_str).unwrap_or("");
                    let workspace = self.workspaces.first().map(String::as_str).unwrap_or("");
                    let resource = first(&rule.resources);
                    let (resource, subresource) =
                        resource.split_once('/').unwrap_or((resource, ""));
                    let attrs = Attributes {
                        user,
                        groups: Groups::Strings(&self.groups),
                        verb: rule.verbs.first().map(String::as_str).unwrap_or(""),
                        api_group: first(&rule.api_groups),
                        resource,
                        subresource,
                        name: first(&rule.resource_names),
                        namespace,
                        workspace,
                        resource_scope: Some(scope),
                        is_resource_request: rule.non_resource_urls.is_none(),
                        path: first(&rule.non_resource_urls),
                        ..Attributes::default()
                    };
                    if !f(&attrs) {
                        return;
                    }
                }
            }
        }
    }
}
