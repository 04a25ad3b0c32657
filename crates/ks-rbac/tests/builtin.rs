//! The built-in `authenticated` self-service grant ([`ks_rbac::builtin`]):
//! table tests of real requests (parsed by ks-request-info) with their near
//! misses, and property tests that it grants exactly the listed shapes and
//! nothing else, over random attributes and over random real requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use SelfService::*;
use ks_rbac::Attributes;
use ks_rbac::builtin::{SelfService, authenticated};
use ks_request_info::Resolver;
use ks_request_info::ResourceScope::{self, Cluster, Global, Namespace, Workspace};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

const SIGNED_IN: &[&str] = &["system:authenticated"];
const ANONYMOUS: &[&str] = &["system:unauthenticated"];

/// The grant for `method path` asked by `user` in `groups`; panics when
/// the request does not parse (every table path must).
fn ask(method: &str, path: &str, user: &str, groups: &[&str]) -> Option<SelfService> {
    let info = Resolver::default()
        .parse(method, path)
        .unwrap_or_else(|e| panic!("{method} {path}: {}", e.error));
    authenticated(&Attributes::from_request_info(&info, user, groups))
}

// ---------------------------------------------------------------------------
// Table tests

/// Requests the console makes for the signed-in user `alice`, and the grant
/// that allows each.
#[rustfmt::skip]
const ALLOWED: &[(&str, &str, SelfService)] = &[
    // Own User and what hangs off it (global scope).
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice", ReadOwnUser),
    ("HEAD", "/kapis/iam.kubesphere.io/v1alpha2/users/alice", ReadOwnUser),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/alice", UpdateOwnUser),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/password", ChangeOwnPassword),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/loginrecords", ReadOwnLoginRecords),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/loginrecords?limit=10&page=1", ReadOwnLoginRecords),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/globalroles", ReadOwnGlobalRoles),
    // Own member entries.
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/alice", ReadOwnClusterMember),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/alice/clusterroles", ReadOwnClusterMember),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice", ReadOwnWorkspaceMember),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice/workspaceroles", ReadOwnWorkspaceMember),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice", ReadOwnNamespaceMember),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice/roles", ReadOwnNamespaceMember),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice/namespaces", ListOwnWorkspaceNamespaces),
    // Tenant lists, filtered by their handlers.
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces", ListVisibleWorkspaces),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspaces?limit=10", ListVisibleWorkspaces),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates", ListVisibleWorkspaces),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates?fieldSelector=metadata.name=ws1", ListVisibleWorkspaces),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/namespaces", ListVisibleNamespaces),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/namespaces", ListVisibleNamespaces),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/clusters", ListVisibleClusters),
    // Member clusters, both forms: the path behind the prefix decides.
    ("GET", "/clusters/host/kapis/iam.kubesphere.io/v1alpha2/clustermembers/alice/clusterroles", ReadOwnClusterMember),
    ("GET", "/kapis/clusters/host/iam.kubesphere.io/v1alpha2/clustermembers/alice/clusterroles", ReadOwnClusterMember),
    ("GET", "/clusters/member1/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice/roles", ReadOwnNamespaceMember),
    ("GET", "/kapis/clusters/member1/tenant.kubesphere.io/v1alpha2/namespaces", ListVisibleNamespaces),
    ("GET", "/clusters/member1/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/namespaces", ListVisibleNamespaces),
];

#[test]
fn allowed_requests_name_their_grant() {
    for &(method, path, want) in ALLOWED {
        assert_eq!(
            ask(method, path, "alice", SIGNED_IN),
            Some(want),
            "{method} {path}"
        );
        // Extra groups change nothing.
        let groups = ["devs", "system:authenticated"];
        assert_eq!(
            ask(method, path, "alice", &groups),
            Some(want),
            "{method} {path}"
        );
    }
}

#[test]
fn every_grant_is_exercised() {
    for grant in SelfService::ALL {
        assert!(
            ALLOWED.iter().any(|&(_, _, g)| g == grant),
            "{grant:?} has no allowed request in the table"
        );
    }
}

/// Someone else, or not a signed-in KubeSphere user: every allowed request
/// of the table that names its user is denied; the unnamed tenant lists
/// stay allowed to any signed-in user.
#[test]
fn only_the_named_user_gets_the_own_grants() {
    // Another user, a prefix of the name, a name it is a prefix of, another
    // case (names are case-sensitive), trailing space (no trimming), a
    // path, nobody.
    let others = ["bob", "ali", "alice2", "Alice", "alice ", "alice/x", ""];
    for &(method, path, grant) in ALLOWED {
        for user in others {
            let got = ask(method, path, user, SIGNED_IN);
            if grant.is_filtered_list() && grant != ListOwnWorkspaceNamespaces && !user.is_empty() {
                assert_eq!(got, Some(grant), "{user:?}: {method} {path}");
            } else {
                assert_eq!(got, None, "{user:?}: {method} {path}");
            }
        }
    }
}

#[test]
fn not_signed_in_gets_nothing() {
    let who: &[(&str, &[&str])] = &[
        ("system:anonymous", ANONYMOUS),
        ("system:anonymous", SIGNED_IN),
        ("alice", ANONYMOUS),
        ("alice", &[]),
        ("alice", &["devs"]),
        ("alice", &["system:authenticated", "system:unauthenticated"]),
        ("alice", &["System:Authenticated"]),
        // Service accounts and other Kubernetes identities have no User.
        ("system:serviceaccount:kubesphere-system:alice", SIGNED_IN),
        ("system:admin", SIGNED_IN),
    ];
    for &(method, path, _) in ALLOWED {
        for &(user, groups) in who {
            assert_eq!(
                ask(method, path, user, groups),
                None,
                "{user:?} {groups:?}: {method} {path}"
            );
        }
    }
    // A service account asking for "its own" user: still no.
    let sa = "system:serviceaccount:ns1:sa";
    let path = format!("/kapis/iam.kubesphere.io/v1alpha2/users/{sa}");
    assert_eq!(ask("GET", &path, sa, SIGNED_IN), None);
}

/// Near misses of the allowed requests, all asked by `alice` signed in.
#[rustfmt::skip]
const DENIED: &[(&str, &str)] = &[
    // Other verbs on the own User.
    ("DELETE", "/kapis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("PATCH", "/kapis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("POST", "/kapis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/password"),
    ("PATCH", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/password"),
    ("DELETE", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/password"),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/loginrecords"),
    ("DELETE", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/loginrecords"),
    ("POST", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/globalroles"),
    // Other subresources of the own User.
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/status"),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/status"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/roles"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/workspaceroles"),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/globalroles"),
    // Lists, even when a field selector names the user.
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users?fieldSelector=metadata.name=alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers?fieldSelector=metadata.name=alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers?fieldSelector=metadata.name=alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members?fieldSelector=metadata.name=alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members?watch=true&fieldSelector=metadata.name=alice"),
    // Writes of the own member entries.
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/alice"),
    ("DELETE", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/alice"),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice"),
    ("DELETE", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice"),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice"),
    ("DELETE", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice"),
    ("POST", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members"),
    // A member entry's roles, but the wrong roles for its scope.
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/alice/workspaceroles"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice/roles"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice/clusterroles"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice/status"),
    // The right resource in the wrong scope.
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/users/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/users/alice"),
    ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/users/alice/password"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/clustermembers/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/clustermembers/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspacemembers/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/ns1/workspacemembers/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/members/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/ws1/members/alice"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspacemembers/alice/namespaces"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/namespaces/ns1/workspacemembers/alice/namespaces"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/namespaces/ns1/namespaces"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/clusters"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/namespaces/ns1/clusters"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/workspaces"),
    // Another API group.
    ("GET", "/kapis/resources.kubesphere.io/v1alpha3/users/alice"),
    ("GET", "/kapis/iam.kubesphere.io.example.com/v1alpha2/users/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/globalroles"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces"),
    ("GET", "/kapis/resources.kubesphere.io/v1alpha3/namespaces"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice"),
    // DevOps members are neither member entries nor ks-rs's.
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/devops/dp1/members/alice"),
    ("GET", "/kapis/iam.kubesphere.io/v1alpha2/devops/dp1/members/alice/roles"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice/devops"),
    // Tenant endpoints that do not filter, or are not lists.
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/ws1"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspaces/ws1"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/namespaces/ns1"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/resourcequotas/q1"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/federatednamespaces"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/federatednamespaces"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/devops"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/events"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/logs"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/auditing/events"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/metering"),
    // Tenant lists with another verb.
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces?watch=true"),
    ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/namespaces?watch=1"),
    ("POST", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces"),
    ("POST", "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates"),
    ("POST", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/namespaces"),
    ("DELETE", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/namespaces"),
    ("DELETE", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1"),
    ("PUT", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1/workspacemembers/alice/namespaces"),
    // The Kubernetes API: never, even for the own User.
    ("GET", "/apis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("PUT", "/apis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("PATCH", "/apis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("DELETE", "/apis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("GET", "/clusters/host/apis/iam.kubesphere.io/v1alpha2/users/alice"),
    ("GET", "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates"),
    ("GET", "/apis/tenant.kubesphere.io/v1alpha1/workspaces"),
    ("GET", "/apis/iam.kubesphere.io/v1alpha2/namespaces/ns1/members/alice"),
    ("GET", "/api/v1/namespaces/ns1/users/alice"),
    // Non-resource requests, discovery included (an ordinary binding).
    ("GET", "/api"),
    ("GET", "/api/v1"),
    ("GET", "/kapis/version"),
    ("GET", "/healthz"),
];

#[test]
fn near_misses_are_denied() {
    for &(method, path) in DENIED {
        assert_eq!(
            ask(method, path, "alice", SIGNED_IN),
            None,
            "{method} {path}"
        );
    }
}

#[test]
fn paths_that_smuggle_a_name_do_not_parse() {
    // The resolver refuses them before authorization (a 400), so no
    // attributes ever carry `alice/x` or a dot segment as a name.
    for path in [
        "/kapis/iam.kubesphere.io/v1alpha2/users/alice%2Fx",
        "/kapis/iam.kubesphere.io/v1alpha2/users/alice/../bob",
        "/kapis/iam.kubesphere.io/v1alpha2/users/../users/alice",
    ] {
        assert!(Resolver::default().parse("GET", path).is_err(), "{path}");
    }
}

#[test]
fn attributes_without_a_kapis_path_get_nothing() {
    // Hand-built attributes (an `ks auth can-i` line) carry no path: the
    // rule cannot tell KubeSphere's API from Kubernetes', so it says no.
    let attrs = Attributes {
        user: "alice",
        groups: SIGNED_IN.into(),
        verb: "get",
        api_group: "iam.kubesphere.io",
        resource: "users",
        name: "alice",
        resource_scope: Some(Global),
        is_resource_request: true,
        ..Attributes::default()
    };
    assert_eq!(authenticated(&attrs), None);
    for path in [
        "/kapisx/users/alice",
        "/apis/users/alice",
        "kapis/users/alice",
        "/kapis",
    ] {
        assert_eq!(authenticated(&Attributes { path, ..attrs }), None, "{path}");
    }
    let path = "/kapis/iam.kubesphere.io/v1alpha2/users/alice";
    assert_eq!(
        authenticated(&Attributes { path, ..attrs }),
        Some(ReadOwnUser)
    );
    // A scope that contradicts its names.
    let inside = Attributes {
        path,
        namespace: "ns1",
        ..attrs
    };
    assert_eq!(authenticated(&inside), None);
    let inside = Attributes {
        path,
        workspace: "ws1",
        ..attrs
    };
    assert_eq!(authenticated(&inside), None);
    assert_eq!(
        authenticated(&Attributes {
            path,
            resource_scope: None,
            ..attrs
        }),
        None
    );
    assert_eq!(
        authenticated(&Attributes {
            path,
            is_resource_request: false,
            ..attrs
        }),
        None
    );
}

#[test]
fn reasons_are_distinct_and_say_where_they_come_from() {
    let prefix = "RBAC: allowed by the built-in authenticated role: ";
    let mut seen = std::collections::BTreeSet::new();
    for grant in SelfService::ALL {
        let reason = grant.reason();
        assert!(reason.starts_with(prefix), "{reason}");
        assert!(seen.insert(reason), "duplicate reason {reason}");
        assert_eq!(grant.to_string(), reason);
    }
    assert_eq!(
        ReadOwnUser.reason(),
        "RBAC: allowed by the built-in authenticated role: a user may read their own User"
    );
    let writes: Vec<_> = SelfService::ALL
        .into_iter()
        .filter(|g| g.is_write())
        .collect();
    assert_eq!(writes, [UpdateOwnUser, ChangeOwnPassword]);
    let lists: Vec<_> = SelfService::ALL
        .into_iter()
        .filter(|g| g.is_filtered_list())
        .collect();
    assert_eq!(
        lists,
        [
            ListOwnWorkspaceNamespaces,
            ListVisibleWorkspaces,
            ListVisibleNamespaces,
            ListVisibleClusters
        ]
    );
}

// ---------------------------------------------------------------------------
// The specification, written as data: one row per allowed shape.

struct Shape {
    group: &'static str,
    resource: &'static str,
    subresource: &'static str,
    verb: &'static str,
    scope: ResourceScope,
    /// The object's name must be the user's.
    own: bool,
    grant: SelfService,
}

const fn shape(
    group: &'static str,
    resource: &'static str,
    subresource: &'static str,
    verb: &'static str,
    scope: ResourceScope,
    own: bool,
    grant: SelfService,
) -> Shape {
    Shape {
        group,
        resource,
        subresource,
        verb,
        scope,
        own,
        grant,
    }
}

const IAM: &str = "iam.kubesphere.io";
const TENANT: &str = "tenant.kubesphere.io";

#[rustfmt::skip]
const SPEC: &[Shape] = &[
    shape(IAM, "users", "", "get", Global, true, ReadOwnUser),
    shape(IAM, "users", "", "update", Global, true, UpdateOwnUser),
    shape(IAM, "users", "password", "update", Global, true, ChangeOwnPassword),
    shape(IAM, "users", "loginrecords", "get", Global, true, ReadOwnLoginRecords),
    shape(IAM, "users", "globalroles", "get", Global, true, ReadOwnGlobalRoles),
    shape(IAM, "clustermembers", "", "get", Cluster, true, ReadOwnClusterMember),
    shape(IAM, "clustermembers", "clusterroles", "get", Cluster, true, ReadOwnClusterMember),
    shape(IAM, "workspacemembers", "", "get", Workspace, true, ReadOwnWorkspaceMember),
    shape(IAM, "workspacemembers", "workspaceroles", "get", Workspace, true, ReadOwnWorkspaceMember),
    shape(IAM, "members", "", "get", Namespace, true, ReadOwnNamespaceMember),
    shape(IAM, "members", "roles", "get", Namespace, true, ReadOwnNamespaceMember),
    shape(TENANT, "workspacemembers", "namespaces", "get", Workspace, true, ListOwnWorkspaceNamespaces),
    shape(TENANT, "workspaces", "", "list", Global, false, ListVisibleWorkspaces),
    shape(TENANT, "workspacetemplates", "", "list", Global, false, ListVisibleWorkspaces),
    shape(TENANT, "namespaces", "", "list", Cluster, false, ListVisibleNamespaces),
    shape(TENANT, "namespaces", "", "list", Workspace, false, ListVisibleNamespaces),
    shape(TENANT, "clusters", "", "list", Cluster, false, ListVisibleClusters),
];

/// The straightforward reading of the module documentation.
fn oracle(a: &Attributes<'_>) -> Option<SelfService> {
    let signed_in = !a.user.is_empty()
        && !a.user.starts_with("system:")
        && a.groups.iter().any(|g| g == "system:authenticated")
        && !a.groups.iter().any(|g| g == "system:unauthenticated");
    if !signed_in || !a.is_resource_request || !a.path.starts_with("/kapis/") {
        return None;
    }
    let scope = a.resource_scope?;
    let names_fit = match scope {
        Global | Cluster => a.workspace.is_empty() && a.namespace.is_empty(),
        Workspace => !a.workspace.is_empty() && a.namespace.is_empty(),
        Namespace => !a.namespace.is_empty(),
    };
    if !names_fit {
        return None;
    }
    let own = !a.name.is_empty() && a.name == a.user;
    SPEC.iter()
        .find(|s| {
            s.group == a.api_group
                && s.resource == a.resource
                && s.subresource == a.subresource
                && s.verb == a.verb
                && s.scope == scope
                && (own || !s.own)
        })
        .map(|s| s.grant)
}

#[test]
fn the_spec_agrees_with_the_tables() {
    for &(method, path, want) in ALLOWED {
        let info = Resolver::default().parse(method, path).unwrap();
        let attrs = Attributes::from_request_info(&info, "alice", SIGNED_IN);
        assert_eq!(oracle(&attrs), Some(want), "{method} {path}");
    }
    for &(method, path) in DENIED {
        let info = Resolver::default().parse(method, path).unwrap();
        let attrs = Attributes::from_request_info(&info, "alice", SIGNED_IN);
        assert_eq!(oracle(&attrs), None, "{method} {path}");
    }
}

// ---------------------------------------------------------------------------
// Property tests

const USERS: &[&str] = &[
    "alice",
    "alice2",
    "ali",
    "Alice",
    "bob",
    "",
    "system:anonymous",
    "system:serviceaccount:ns1:alice",
    "system:admin",
];
const GROUPS: &[&str] = &[
    "system:authenticated",
    "system:unauthenticated",
    "devs",
    "system:masters",
];
const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "proxy",
    "GET",
    "PUT",
    "*",
    "",
];
const API_GROUPS: &[&str] = &[
    IAM,
    TENANT,
    "",
    "*",
    "resources.kubesphere.io",
    "iam.kubesphere.io.evil",
];
const RESOURCES: &[&str] = &[
    "users",
    "clustermembers",
    "workspacemembers",
    "members",
    "workspaces",
    "workspacetemplates",
    "namespaces",
    "clusters",
    "globalroles",
    "federatednamespaces",
    "devops",
    "pods",
    "*",
    "users/password",
];
const SUBRESOURCES: &[&str] = &[
    "",
    "password",
    "loginrecords",
    "globalroles",
    "clusterroles",
    "workspaceroles",
    "roles",
    "namespaces",
    "status",
    "devops",
    "*",
];
const NAMES: &[&str] = &[
    "",
    "alice",
    "alice2",
    "ali",
    "bob",
    "alice/x",
    "*",
    "system:anonymous",
];
const PATHS: &[&str] = &[
    "/kapis/iam.kubesphere.io/v1alpha2/users/alice",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces",
    "/apis/iam.kubesphere.io/v1alpha2/users/alice",
    "/api/v1",
    "/kapis",
    "/kapisx/a",
    "",
];
const SCOPES: &[Option<ResourceScope>] = &[
    None,
    Some(Global),
    Some(Cluster),
    Some(Workspace),
    Some(Namespace),
];

/// Random attributes, owned so that a strategy can hold them.
#[derive(Clone, Debug)]
struct Ask {
    user: &'static str,
    groups: Vec<&'static str>,
    verb: &'static str,
    api_group: &'static str,
    resource: &'static str,
    subresource: &'static str,
    /// The name; `None` is "the user's own name".
    name: Option<&'static str>,
    namespace: &'static str,
    workspace: &'static str,
    cluster: &'static str,
    scope: Option<ResourceScope>,
    is_resource_request: bool,
    path: &'static str,
}

impl Ask {
    fn attrs(&self) -> Attributes<'_> {
        Attributes {
            user: self.user,
            groups: self.groups.as_slice().into(),
            verb: self.verb,
            api_group: self.api_group,
            resource: self.resource,
            subresource: self.subresource,
            name: self.name.unwrap_or(self.user),
            namespace: self.namespace,
            workspace: self.workspace,
            cluster: self.cluster,
            resource_scope: self.scope,
            is_resource_request: self.is_resource_request,
            path: self.path,
            ..Attributes::default()
        }
    }
}

fn ask_strategy() -> impl Strategy<Value = Ask> {
    (
        (
            select(USERS),
            subsequence(GROUPS, 0..=GROUPS.len()),
            select(VERBS),
        ),
        (select(API_GROUPS), select(RESOURCES), select(SUBRESOURCES)),
        (
            prop::option::weighted(0.7, select(NAMES)),
            select(&["", "ns1"][..]),
        ),
        (
            select(&["", "ws1"][..]),
            select(&["", "host", "member1"][..]),
            select(SCOPES),
        ),
        (prop::bool::weighted(0.9), select(PATHS)),
    )
        .prop_map(
            |(
                (user, groups, verb),
                (api_group, resource, subresource),
                (name, namespace),
                (workspace, cluster, scope),
                (is_resource_request, path),
            )| Ask {
                user,
                groups,
                verb,
                api_group,
                resource,
                subresource,
                // `weighted(0.7, ...)`: Some 70% of the time; None is "own".
                name,
                namespace,
                workspace,
                cluster,
                scope,
                is_resource_request,
                path,
            },
        )
}

/// A biased strategy: signed-in users asking for the allowed shapes, then
/// moved one step away, so that near misses are met often.
fn near_spec_strategy() -> impl Strategy<Value = Ask> {
    (0..SPEC.len(), ask_strategy(), 0..10usize).prop_map(|(row, mut ask, mutation)| {
        let s = &SPEC[row];
        ask.user = "alice";
        ask.groups = vec!["system:authenticated"];
        ask.verb = s.verb;
        ask.api_group = s.group;
        ask.resource = s.resource;
        ask.subresource = s.subresource;
        ask.name = None;
        ask.scope = Some(s.scope);
        ask.namespace = if s.scope == Namespace { "ns1" } else { "" };
        ask.workspace = if s.scope == Workspace { "ws1" } else { "" };
        ask.is_resource_request = true;
        ask.path = "/kapis/x";
        // Then change one thing (or nothing): the oracle says what follows.
        match mutation {
            0 => {}
            1 => ask.name = Some("alice2"),
            2 => ask.user = "ali",
            3 => ask.verb = "watch",
            4 => ask.subresource = "status",
            5 => ask.groups = vec!["system:unauthenticated"],
            6 => ask.path = "/apis/x",
            7 => (ask.workspace, ask.namespace) = ("ws1", "ns1"),
            8 => (ask.workspace, ask.namespace) = ("", ""),
            _ => ask.scope = Some(Global).filter(|_| s.scope != Global).or(Some(Cluster)),
        }
        ask
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Over random attributes, the rule is the specification: it grants
    /// the listed shapes and nothing else.
    #[test]
    fn prop_grants_exactly_the_spec(ask in ask_strategy()) {
        let attrs = ask.attrs();
        prop_assert_eq!(authenticated(&attrs), oracle(&attrs), "{:?}", ask);
    }

    #[test]
    fn prop_near_misses_follow_the_spec(ask in near_spec_strategy()) {
        let attrs = ask.attrs();
        prop_assert_eq!(authenticated(&attrs), oracle(&attrs), "{:?}", ask);
    }

    /// Whatever is granted: a signed-in KubeSphere user, a `/kapis`
    /// resource request, and either their own object by exact name or a
    /// filtered list; and the member cluster never changes the answer.
    #[test]
    fn prop_grants_are_own_or_filtered_lists(ask in ask_strategy(), cluster in select(&["", "host", "x"][..])) {
        let attrs = ask.attrs();
        let got = authenticated(&attrs);
        if let Some(grant) = got {
            prop_assert!(attrs.groups.contains("system:authenticated"));
            prop_assert!(!attrs.user.is_empty() && !attrs.user.starts_with("system:"));
            prop_assert!(attrs.is_resource_request && attrs.path.starts_with("/kapis/"));
            let own = attrs.name == attrs.user;
            prop_assert!(own || (grant.is_filtered_list() && attrs.verb == "list"), "{:?}", ask);
            prop_assert!(grant.is_write() == (attrs.verb == "update"));
        }
        prop_assert_eq!(authenticated(&Attributes { cluster, ..attrs }), got);
    }
}

// Random real requests: a method and a path from the shapes the console
// uses (and their neighbours), with random names, parsed by the resolver.

/// Path templates: `{n}` is the object's name, `{ws}` a workspace, `{ns}` a
/// namespace. [`request_spec`] says which of them are granted.
const TEMPLATES: &[&str] = &[
    "/kapis/iam.kubesphere.io/v1alpha2/users/{n}",
    "/kapis/iam.kubesphere.io/v1alpha2/users/{n}/password",
    "/kapis/iam.kubesphere.io/v1alpha2/users/{n}/loginrecords",
    "/kapis/iam.kubesphere.io/v1alpha2/users/{n}/globalroles",
    "/kapis/iam.kubesphere.io/v1alpha2/users/{n}/status",
    "/kapis/iam.kubesphere.io/v1alpha2/users",
    "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/{n}",
    "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/{n}/clusterroles",
    "/kapis/iam.kubesphere.io/v1alpha2/clustermembers",
    "/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{n}",
    "/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{n}/workspaceroles",
    "/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers",
    "/kapis/iam.kubesphere.io/v1alpha2/namespaces/{ns}/members/{n}",
    "/kapis/iam.kubesphere.io/v1alpha2/namespaces/{ns}/members/{n}/roles",
    "/kapis/iam.kubesphere.io/v1alpha2/namespaces/{ns}/members",
    "/kapis/iam.kubesphere.io/v1alpha2/namespaces/{ns}/users/{n}",
    "/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/users/{n}",
    "/kapis/iam.kubesphere.io/v1alpha2/devops/{ns}/members/{n}/roles",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{n}/namespaces",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{n}/devops",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces",
    "/kapis/tenant.kubesphere.io/v1alpha3/workspaces",
    "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates",
    "/kapis/tenant.kubesphere.io/v1alpha2/namespaces",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}/namespaces",
    "/kapis/tenant.kubesphere.io/v1alpha2/clusters",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}/clusters",
    "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}/namespaces/{ns}",
    "/kapis/tenant.kubesphere.io/v1alpha2/federatednamespaces",
    "/kapis/tenant.kubesphere.io/v1alpha2/events",
    "/apis/iam.kubesphere.io/v1alpha2/users/{n}",
    "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates",
    "/api/v1/namespaces/{ns}/pods/{n}",
];

/// The request spec: the grant of `method template` when the name is the
/// user's (`own`), for a list when the query asks for no watch.
fn request_spec(method: &str, template: &str, own: bool, watch: bool) -> Option<SelfService> {
    let method = if method == "HEAD" { "GET" } else { method };
    let named = |grant| own.then_some(grant);
    let list = |grant| (!watch).then_some(grant);
    let t = template;
    match (method, t) {
        ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/{n}") => named(ReadOwnUser),
        ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/{n}") => named(UpdateOwnUser),
        ("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/{n}/password") => named(ChangeOwnPassword),
        ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/{n}/loginrecords") => {
            named(ReadOwnLoginRecords)
        }
        ("GET", "/kapis/iam.kubesphere.io/v1alpha2/users/{n}/globalroles") => {
            named(ReadOwnGlobalRoles)
        }
        ("GET", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/{n}")
        | ("GET", "/kapis/iam.kubesphere.io/v1alpha2/clustermembers/{n}/clusterroles") => {
            named(ReadOwnClusterMember)
        }
        ("GET", "/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{n}")
        | (
            "GET",
            "/kapis/iam.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{n}/workspaceroles",
        ) => named(ReadOwnWorkspaceMember),
        ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/{ns}/members/{n}")
        | ("GET", "/kapis/iam.kubesphere.io/v1alpha2/namespaces/{ns}/members/{n}/roles") => {
            named(ReadOwnNamespaceMember)
        }
        (
            "GET",
            "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{n}/namespaces",
        ) => named(ListOwnWorkspaceNamespaces),
        ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces")
        | ("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspaces")
        | ("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates") => {
            list(ListVisibleWorkspaces)
        }
        ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/namespaces")
        | ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/{ws}/namespaces") => {
            list(ListVisibleNamespaces)
        }
        ("GET", "/kapis/tenant.kubesphere.io/v1alpha2/clusters") => list(ListVisibleClusters),
        _ => None,
    }
}

const METHODS: &[&str] = &["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"];
const SEGMENTS: &[&str] = &[
    "alice",
    "alice2",
    "ali",
    "Alice",
    "bob",
    "ws1",
    "ns1",
    "system:anonymous",
];
const GROUP_SETS: &[&[&str]] = &[&["system:authenticated"], &["system:unauthenticated"], &[]];
const QUERIES: &[&str] = &[
    "",
    "?limit=10",
    "?watch=true",
    "?fieldSelector=metadata.name%3Dalice",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Random real requests by random users: the rule, applied to what
    /// the resolver makes of the request, is the request-level spec.
    #[test]
    fn prop_real_requests_follow_the_request_spec(
        method in select(METHODS),
        template in select(TEMPLATES),
        n in select(SEGMENTS),
        ws in select(SEGMENTS),
        ns in select(SEGMENTS),
        query in select(QUERIES),
        prefix in 0..3usize,
        user in select(&["alice", "bob", "system:anonymous", "system:serviceaccount:ns1:alice"][..]),
        groups in select(GROUP_SETS),
    ) {
        let path = template.replace("{n}", n).replace("{ws}", ws).replace("{ns}", ns);
        let path = match prefix {
            0 => path,
            1 => format!("/clusters/host{path}"),
            _ => match path.strip_prefix("/kapis/") {
                Some(rest) => format!("/kapis/clusters/member1/{rest}"),
                None => path,
            },
        };
        let target = format!("{path}{query}");
        let info = match Resolver::default().parse(method, &target) {
            Ok(info) => info,
            // Refused with a 400 before authorization.
            Err(_) => return Ok(()),
        };
        let attrs = Attributes::from_request_info(&info, user, groups);
        let got = authenticated(&attrs);
        prop_assert_eq!(got, oracle(&attrs), "{} {}", method, target);

        let signed_in = groups == ["system:authenticated"] && !user.starts_with("system:");
        let watch = query.contains("watch");
        let want = request_spec(method, template, n == user, watch).filter(|_| signed_in);
        prop_assert_eq!(got, want, "{} {} as {}", method, target, user);
    }
}

// ---------------------------------------------------------------------------
// A workspace template read as its workspace

/// What `workspace_template_read_as_workspace` makes of `method path` for
/// `user` in `groups`: the restated (resource, name, workspace, verb).
fn template_read(
    method: &str,
    path: &str,
    user: &str,
    groups: &[&str],
) -> Option<(String, String, String, String)> {
    let info = Resolver::default()
        .parse(method, path)
        .unwrap_or_else(|e| panic!("{method} {path}: {}", e.error));
    let attrs = Attributes::from_request_info(&info, user, groups);
    ks_rbac::builtin::workspace_template_read_as_workspace(&attrs).map(|a| {
        assert_eq!(a.api_group, "tenant.kubesphere.io");
        assert_eq!(a.resource_scope, Some(Workspace));
        assert!(a.subresource.is_empty() && a.namespace.is_empty());
        (
            a.resource.to_owned(),
            a.name.to_owned(),
            a.workspace.to_owned(),
            a.verb.to_owned(),
        )
    })
}

#[test]
fn only_a_get_of_a_workspace_template_is_read_as_its_workspace() {
    let ws1 = Some((
        "workspaces".to_owned(),
        "ws1".to_owned(),
        "ws1".to_owned(),
        "get".to_owned(),
    ));
    let template = "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/ws1";
    assert_eq!(template_read("GET", template, "alice", SIGNED_IN), ws1);
    // Through a member cluster's prefix, the path behind it decides.
    assert_eq!(
        template_read(
            "GET",
            "/kapis/clusters/host/tenant.kubesphere.io/v1alpha3/workspacetemplates/ws1",
            "alice",
            SIGNED_IN
        ),
        ws1
    );
    for (method, path, user, groups) in [
        // Writes and lists stay with the roles.
        ("PUT", template, "alice", SIGNED_IN),
        ("PATCH", template, "alice", SIGNED_IN),
        ("DELETE", template, "alice", SIGNED_IN),
        (
            "GET",
            "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates",
            "alice",
            SIGNED_IN,
        ),
        // Not signed in, or not a KubeSphere user.
        ("GET", template, "system:anonymous", ANONYMOUS),
        ("GET", template, "alice", ANONYMOUS),
        ("GET", template, "system:serviceaccount:a:b", SIGNED_IN),
        // The Kubernetes API, another resource, a subresource.
        (
            "GET",
            "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates/ws1",
            "alice",
            SIGNED_IN,
        ),
        (
            "GET",
            "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/ws1",
            "alice",
            SIGNED_IN,
        ),
        (
            "GET",
            "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/ws1/status",
            "alice",
            SIGNED_IN,
        ),
        (
            "GET",
            "/kapis/iam.kubesphere.io/v1alpha3/workspacetemplates/ws1",
            "alice",
            SIGNED_IN,
        ),
    ] {
        assert_eq!(
            template_read(method, path, user, groups),
            None,
            "{method} {path} as {user}"
        );
    }
}
