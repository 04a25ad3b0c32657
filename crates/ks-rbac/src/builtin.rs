//! KubeSphere's built-in `authenticated` self-service grant, as one
//! explicit rule: [`authenticated`].
//!
//! Every signed-in user may read and edit their own `User`, change their
//! own password, read their own login records and global roles, read their
//! own member entries (cluster, workspace, namespace) with the roles those
//! entries hold, and call the tenant list endpoints, which filter their
//! results by the caller themselves. Nothing else: everything a user does
//! beyond this needs an ordinary binding.
//!
//! ```
//! use ks_rbac::Attributes;
//! use ks_rbac::builtin::{SelfService, authenticated};
//! use ks_request_info::Resolver;
//!
//! let resolver = Resolver::default();
//! let groups = ["system:authenticated"];
//!
//! let info = resolver.parse("PUT", "/kapis/iam.kubesphere.io/v1alpha2/users/alice/password").unwrap();
//! let grant = authenticated(&Attributes::from_request_info(&info, "alice", &groups));
//! assert_eq!(grant, Some(SelfService::ChangeOwnPassword));
//! assert_eq!(
//!     grant.unwrap().reason(),
//!     "RBAC: allowed by the built-in authenticated role: a user may change their own password"
//! );
//!
//! // Someone else's password, or the same user through the Kubernetes API: no.
//! assert_eq!(authenticated(&Attributes::from_request_info(&info, "bob", &groups)), None);
//! let info = resolver.parse("GET", "/apis/iam.kubesphere.io/v1alpha2/users/alice").unwrap();
//! assert_eq!(authenticated(&Attributes::from_request_info(&info, "alice", &groups)), None);
//! ```
//!
//! It is a separate function, not a policy: the server asks it after (or
//! before) the [`PolicySnapshot`](crate::PolicySnapshot) and allows when
//! either does, with the grant's [`SelfService::reason`].
//!
//! # What KubeSphere 3.4 does
//!
//! KubeSphere ships a GlobalRole named `authenticated`, bound to the group
//! `system:authenticated`, whose `iam.kubesphere.io/rego-override`
//! annotation holds an OPA policy (ks-installer, branch `release-3.4`,
//! `roles/ks-core/prepare/files/ks-init/role-templates.yaml`; the 4.x
//! chart in kubesphere `config/ks-core/templates/globalroles.yaml` keeps
//! these clauses, says `namespacemembers` for `members`, and adds one for
//! the web kubectl's `ks-managed-kubectl-*` pods). Its
//! `RBACAuthorizer` (`pkg/apiserver/authorization/rbac/rbac.go`) evaluates
//! that policy, for each binding it visits, before the role's rules, with
//! the request's `AttributesRecord` as input (`User`, `Verb`, `APIGroup`,
//! `Resource`, `Subresource`, `Name`, `Namespace`, `Workspace`, `Cluster`,
//! `KubernetesRequest`, `ResourceRequest`, `Path`, `ResourceScope`). The
//! policy allows when any of four clauses holds:
//!
//! 1. the resource is `users` and its name is the user's: any verb, any
//!    group, any subresource, any scope, Kubernetes API or not;
//! 2. the resource is `clustermembers`, `workspacemembers` or `members`,
//!    its name is the user's, and the verb is `get`, `list` or `watch`
//!    (again any group, subresource and scope);
//! 3. the path is `/api` or `/api/v1` and the verb is `GET` (KubeSphere
//!    keeps the HTTP method as a non-resource request's verb);
//! 4. the group is `tenant.kubesphere.io`, the request is not a Kubernetes
//!    one, and the verb is `get`, `list` or `watch`: any resource, any name.
//!
//! The role's ordinary `rules` (read configs, list users, read storage
//! classes, ...) are plain `PolicyRule`s; they are data, not this rule.
//!
//! # What ks-rs grants
//!
//! Only to a signed-in user: the groups hold `system:authenticated` and not
//! `system:unauthenticated`, and the name is neither empty nor a `system:`
//! name (`system:anonymous`, service accounts `system:serviceaccount:...`,
//! Kubernetes' own components). A KubeSphere user name is a DNS subdomain,
//! so it never contains `:`; a service account has no `User`, no password,
//! no login records and no member entries, and reaches the tenant lists
//! through ordinary bindings if it needs them.
//!
//! Only resource requests under `/kapis` (the [`Attributes::path`], which
//! is the path behind any `/clusters/{cluster}` prefix, starts with
//! `/kapis/`), because KubeSphere's own handlers are what make these
//! requests safe (they keep the password, filter the lists). "me" is the
//! request's name, compared to the user's name byte for byte: `alice` is
//! not `alice2`, `Alice` or `alice/x`, and an empty name never matches. The
//! member cluster a request is for does not change the decision (one
//! policy describes one cluster; the member cluster decides again).
//!
//! | [`SelfService`] | request (`/kapis/...`) | verb | scope |
//! |---|---|---|---|
//! | `ReadOwnUser` | `GET iam.kubesphere.io/v1alpha2/users/{me}` | `get` | Global |
//! | `UpdateOwnUser` | `PUT iam.kubesphere.io/v1alpha2/users/{me}` | `update` | Global |
//! | `ChangeOwnPassword` | `PUT iam.kubesphere.io/v1alpha2/users/{me}/password` | `update` | Global |
//! | `ReadOwnLoginRecords` | `GET iam.kubesphere.io/v1alpha2/users/{me}/loginrecords` | `get` | Global |
//! | `ReadOwnGlobalRoles` | `GET iam.kubesphere.io/v1alpha2/users/{me}/globalroles` | `get` | Global |
//! | `ReadOwnClusterMember` | `GET iam.kubesphere.io/v1alpha2/clustermembers/{me}`, and `.../clusterroles` | `get` | Cluster |
//! | `ReadOwnWorkspaceMember` | `GET iam.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{me}`, and `.../workspaceroles` | `get` | Workspace |
//! | `ReadOwnNamespaceMember` | `GET iam.kubesphere.io/v1alpha2/namespaces/{ns}/members/{me}`, and `.../roles` | `get` | Namespace |
//! | `ListOwnWorkspaceNamespaces` | `GET tenant.kubesphere.io/v1alpha2/workspaces/{ws}/workspacemembers/{me}/namespaces` | `get` | Workspace |
//! | `ListVisibleWorkspaces` | `GET tenant.kubesphere.io/{v1alpha2,v1alpha3}/workspaces`, `GET tenant.kubesphere.io/v1alpha3/workspacetemplates` | `list` | Global |
//! | `ListVisibleNamespaces` | `GET tenant.kubesphere.io/v1alpha2/namespaces`; `GET tenant.kubesphere.io/v1alpha2/workspaces/{ws}/namespaces` | `list` | Cluster; Workspace |
//! | `ListVisibleClusters` | `GET tenant.kubesphere.io/v1alpha2/clusters` | `list` | Cluster |
//!
//! "Scope" is the request info's resource scope, with the scope's own
//! names set and the inner ones empty: Global and Cluster have neither a
//! workspace nor a namespace, Workspace has a workspace and no namespace,
//! Namespace has a namespace.
//!
//! # Deliberate differences from KubeSphere
//!
//! - **`/kapis` only.** Clause 1 also lets a user write their whole `User`
//!   object through `/apis/iam.kubesphere.io/v1alpha2/users/{me}`,
//!   `spec.groups` included; KubeSphere takes a token's groups from
//!   `spec.groups`, so that is a way to join any group and its roles. ks-rs
//!   grants nothing on the Kubernetes API. (KubeSphere's console uses that
//!   path once: its first-login page patches `spec.password` and removes
//!   `iam.kubesphere.io/uninitialized`. ks-rs does not report
//!   `uninitialized` at login; if it does one day, that change needs a
//!   `/kapis` route, not this grant.)
//! - **Named requests and verbs only.** Clause 1 allows every verb on any
//!   `users` resource of any group; ks-rs allows exactly the reads and the
//!   two writes the console makes (`get`, `update` of the profile,
//!   `update` of the password): not `delete` (the console refuses to delete
//!   the current user), not `patch` or `create`, and only in
//!   `iam.kubesphere.io`. Clause 2 also allows `list` and `watch` when a
//!   field selector names the user; the member list handlers are not
//!   written to honour field selectors (KubeSphere's treat one as an
//!   unknown filter and answer an empty list), so that grant is useless at
//!   best and a leak at worst: ks-rs allows `get`.
//! - **Filtered lists only.** Clause 4 allows reading anything in
//!   `tenant.kubesphere.io`: any workspace by name, any workspace's
//!   clusters and resource quotas, any user's namespaces through
//!   `workspacemembers/{member}/namespaces`. ks-rs allows `list` of the
//!   endpoints whose handlers filter by the caller (workspaces, workspace
//!   templates, namespaces, clusters), and the member's namespace list
//!   only for the caller themselves. A workspace's own members read it
//!   through their workspace role. Not `watch`: the list handlers have no
//!   watch. Not the federated namespaces, DevOps projects, events, logs,
//!   auditing or metering lists: ks-rs serves none of them.
//! - **No discovery.** Clause 3 (`GET /api`, `/api/v1`) is Kubernetes
//!   discovery, which ks-apiserver grants with an ordinary binding of
//!   `system:discovery` to `system:authenticated`.
//!
//! # What the server still owes
//!
//! An authorizer sees no request body, so the two writes are only as safe
//! as their handlers. When this grant (and no ordinary binding) allowed
//! it, [`SelfService::UpdateOwnUser`] must change no more than the profile
//! the console edits (`spec.email`, `spec.lang`; `spec.displayName` and
//! `spec.description` are harmless too): never the password, the state,
//! `spec.groups`, labels or annotations (the `iam.kubesphere.io/globalrole`
//! annotation already needs `update users`). KubeSphere 3.4's own handler
//! keeps only the password and the state, so there too a user could
//! rewrite their `spec.groups`; ks-rs must not follow it.
//! [`SelfService::ChangeOwnPassword`] must verify the current password.
//! The `List*` grants are safe only because their handlers return what
//! the caller's own bindings show ([`SelfService::is_write`] and
//! [`SelfService::is_filtered_list`] say which grants carry these duties).

use ks_request_info::ResourceScope;

use crate::attributes::Attributes;

/// The name of KubeSphere's built-in GlobalRole this rule stands for.
pub const ROLE: &str = "authenticated";

/// The group every signed-in user is in, to which KubeSphere binds
/// [`ROLE`].
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";

/// The group of requests that carry no credentials.
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";

const IAM: &str = "iam.kubesphere.io";
const TENANT: &str = "tenant.kubesphere.io";

/// Which self-service grant allowed a request: see the
/// [module documentation](self) for the request each one matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SelfService {
    /// `get` of the user's own `users/{me}`.
    ReadOwnUser,
    /// `update` of the user's own `users/{me}` (the profile). The handler
    /// must keep everything but the profile fields.
    UpdateOwnUser,
    /// `update` of `users/{me}/password`. The handler must verify the
    /// current password.
    ChangeOwnPassword,
    /// `get` of `users/{me}/loginrecords`.
    ReadOwnLoginRecords,
    /// `get` of `users/{me}/globalroles`.
    ReadOwnGlobalRoles,
    /// `get` of `clustermembers/{me}` and its `clusterroles`.
    ReadOwnClusterMember,
    /// `get` of `workspacemembers/{me}` in a workspace and its
    /// `workspaceroles`.
    ReadOwnWorkspaceMember,
    /// `get` of `members/{me}` in a namespace and its `roles`.
    ReadOwnNamespaceMember,
    /// `get` of `workspacemembers/{me}/namespaces` in
    /// `tenant.kubesphere.io`: the user's own namespaces in a workspace.
    ListOwnWorkspaceNamespaces,
    /// `list` of `workspaces` or `workspacetemplates` in
    /// `tenant.kubesphere.io`; the handler lists only what the caller sees.
    ListVisibleWorkspaces,
    /// `list` of `namespaces` in `tenant.kubesphere.io`, all or in a
    /// workspace; the handler lists only what the caller sees.
    ListVisibleNamespaces,
    /// `list` of `clusters` in `tenant.kubesphere.io`; the handler lists
    /// only what the caller sees.
    ListVisibleClusters,
}

impl SelfService {
    /// Every grant, in declaration order.
    pub const ALL: [SelfService; 12] = [
        SelfService::ReadOwnUser,
        SelfService::UpdateOwnUser,
        SelfService::ChangeOwnPassword,
        SelfService::ReadOwnLoginRecords,
        SelfService::ReadOwnGlobalRoles,
        SelfService::ReadOwnClusterMember,
        SelfService::ReadOwnWorkspaceMember,
        SelfService::ReadOwnNamespaceMember,
        SelfService::ListOwnWorkspaceNamespaces,
        SelfService::ListVisibleWorkspaces,
        SelfService::ListVisibleNamespaces,
        SelfService::ListVisibleClusters,
    ];

    /// The reason of the Allow, in the words of the crate's other reasons:
    /// `RBAC: allowed by the built-in authenticated role: ...`.
    pub fn reason(self) -> &'static str {
        match self {
            SelfService::ReadOwnUser => {
                "RBAC: allowed by the built-in authenticated role: a user may read their own User"
            }
            SelfService::UpdateOwnUser => {
                "RBAC: allowed by the built-in authenticated role: a user may update their own profile"
            }
            SelfService::ChangeOwnPassword => {
                "RBAC: allowed by the built-in authenticated role: a user may change their own password"
            }
            SelfService::ReadOwnLoginRecords => {
                "RBAC: allowed by the built-in authenticated role: a user may read their own login records"
            }
            SelfService::ReadOwnGlobalRoles => {
                "RBAC: allowed by the built-in authenticated role: a user may read their own global roles"
            }
            SelfService::ReadOwnClusterMember => {
                "RBAC: allowed by the built-in authenticated role: a user may read their own cluster member entry and roles"
            }
            SelfService::ReadOwnWorkspaceMember => {
                "RBAC: allowed by the built-in authenticated role: a user may read their own workspace member entry and roles"
            }
            SelfService::ReadOwnNamespaceMember => {
                "RBAC: allowed by the built-in authenticated role: a user may read their own namespace member entry and roles"
            }
            SelfService::ListOwnWorkspaceNamespaces => {
                "RBAC: allowed by the built-in authenticated role: a user may list their own namespaces in a workspace"
            }
            SelfService::ListVisibleWorkspaces => {
                "RBAC: allowed by the built-in authenticated role: a user may list the workspaces they can see"
            }
            SelfService::ListVisibleNamespaces => {
                "RBAC: allowed by the built-in authenticated role: a user may list the namespaces they can see"
            }
            SelfService::ListVisibleClusters => {
                "RBAC: allowed by the built-in authenticated role: a user may list the clusters they can see"
            }
        }
    }

    /// Whether the grant allows a write, whose handler must then limit what
    /// changes (see the [module documentation](self#what-the-server-still-owes)).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            SelfService::UpdateOwnUser | SelfService::ChangeOwnPassword
        )
    }

    /// Whether the grant allows a list whose handler must return only what
    /// the caller's own bindings show.
    pub fn is_filtered_list(self) -> bool {
        matches!(
            self,
            SelfService::ListOwnWorkspaceNamespaces
                | SelfService::ListVisibleWorkspaces
                | SelfService::ListVisibleNamespaces
                | SelfService::ListVisibleClusters
        )
    }
}

impl std::fmt::Display for SelfService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

/// KubeSphere's self-service grant to every signed-in user (the built-in
/// GlobalRole `authenticated`): `Some` with the grant that allows the
/// request, `None` when this rule has no opinion. The
/// [module documentation](self) lists exactly what is granted, and why.
///
/// Pure and allocation-free; it reads only the attributes.
pub fn authenticated(attrs: &Attributes<'_>) -> Option<SelfService> {
    if !is_signed_in_user(attrs) || !attrs.is_resource_request || !attrs.path.starts_with("/kapis/")
    {
        return None;
    }
    let scope = attrs.resource_scope?;
    if !scope_names_are_exact(attrs, scope) {
        return None;
    }
    // The object is the requesting user's own (user or member entry).
    let own = !attrs.name.is_empty() && attrs.name == attrs.user;

    use ResourceScope::{Cluster, Global, Namespace, Workspace};
    use SelfService::*;
    let grant = match (
        attrs.api_group,
        attrs.resource,
        attrs.subresource,
        attrs.verb,
        scope,
    ) {
        (IAM, "users", "", "get", Global) if own => ReadOwnUser,
        (IAM, "users", "", "update", Global) if own => UpdateOwnUser,
        (IAM, "users", "password", "update", Global) if own => ChangeOwnPassword,
        (IAM, "users", "loginrecords", "get", Global) if own => ReadOwnLoginRecords,
        (IAM, "users", "globalroles", "get", Global) if own => ReadOwnGlobalRoles,
        (IAM, "clustermembers", "" | "clusterroles", "get", Cluster) if own => ReadOwnClusterMember,
        (IAM, "workspacemembers", "" | "workspaceroles", "get", Workspace) if own => {
            ReadOwnWorkspaceMember
        }
        (IAM, "members", "" | "roles", "get", Namespace) if own => ReadOwnNamespaceMember,
        (TENANT, "workspacemembers", "namespaces", "get", Workspace) if own => {
            ListOwnWorkspaceNamespaces
        }
        (TENANT, "workspaces" | "workspacetemplates", "", "list", Global) => ListVisibleWorkspaces,
        (TENANT, "namespaces", "", "list", Cluster | Workspace) => ListVisibleNamespaces,
        (TENANT, "clusters", "", "list", Cluster) => ListVisibleClusters,
        _ => return None,
    };
    Some(grant)
}

/// The read a console makes of a workspace's template
/// (`GET /kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/{ws}`, at
/// the workspace scope), restated as the read of the workspace itself
/// (`get workspaces/{ws}` in `ws`), for the server to ask the roles again
/// when they refused the template.
///
/// KubeSphere's console opens every workspace page with that read and
/// shows "not found" when it is refused. KubeSphere allows it to every
/// signed-in user (the `authenticated` role's fourth clause: any
/// `tenant.kubesphere.io` read), and its workspace roles speak of
/// `workspaces`, not `workspacetemplates` (`{ws}-regular` may read
/// `workspaces` and nothing about templates). ks-rs allows the read only
/// to whom the roles allow reading the workspace: every member through the
/// built-in workspace roles, nobody else.
///
/// `None` for anything but a `get` of `workspacetemplates/{ws}` in
/// workspace `ws` by a signed-in user under `/kapis`.
///
/// ```
/// use ks_rbac::Attributes;
/// use ks_rbac::builtin::workspace_template_read_as_workspace;
/// use ks_request_info::Resolver;
///
/// let info = Resolver::default()
///     .parse("GET", "/kapis/tenant.kubesphere.io/v1alpha3/workspacetemplates/demo")
///     .unwrap();
/// let attrs = Attributes::from_request_info(&info, "alice", &["system:authenticated"]);
/// let read = workspace_template_read_as_workspace(&attrs).unwrap();
/// assert_eq!((read.resource, read.name, read.workspace), ("workspaces", "demo", "demo"));
/// ```
pub fn workspace_template_read_as_workspace<'a>(attrs: &Attributes<'a>) -> Option<Attributes<'a>> {
    let template_read = is_signed_in_user(attrs)
        && attrs.is_resource_request
        && attrs.path.starts_with("/kapis/")
        && attrs.resource_scope == Some(ResourceScope::Workspace)
        && scope_names_are_exact(attrs, ResourceScope::Workspace)
        && attrs.api_group == TENANT
        && attrs.resource == "workspacetemplates"
        && attrs.subresource.is_empty()
        && attrs.verb == "get"
        && attrs.name == attrs.workspace;
    template_read.then_some(Attributes {
        resource: "workspaces",
        ..*attrs
    })
}

/// A signed-in KubeSphere user: authenticated, and named like a `User`
/// (never `system:anonymous`, a service account or another `system:`
/// identity, none of which has a `User` object).
fn is_signed_in_user(attrs: &Attributes<'_>) -> bool {
    !attrs.user.is_empty()
        && !attrs.user.starts_with("system:")
        && attrs.groups.contains(AUTHENTICATED_GROUP)
        && !attrs.groups.contains(UNAUTHENTICATED_GROUP)
}

/// Whether the scope's own names are set and the inner ones empty, so a
/// hand-built request cannot say "global" while naming a namespace.
fn scope_names_are_exact(attrs: &Attributes<'_>, scope: ResourceScope) -> bool {
    let ws = !attrs.workspace.is_empty();
    let ns = !attrs.namespace.is_empty();
    match scope {
        ResourceScope::Global | ResourceScope::Cluster => !ws && !ns,
        ResourceScope::Workspace => ws && !ns,
        ResourceScope::Namespace => ns,
    }
}
