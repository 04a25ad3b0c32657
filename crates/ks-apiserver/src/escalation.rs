//! Escalation prevention: nobody grants, by writing a role or a binding,
//! permissions they do not hold themselves ([`EscalationCheck`]).
//!
//! Kubernetes does this in the storage of its four RBAC kinds
//! (`pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go`,
//! with `pkg/registry/rbac/escalation_check.go` and
//! `ConfirmNoEscalation` of `pkg/registry/rbac/validation/rule.go`); here
//! it is one validating admission plugin over the eight role and binding
//! kinds of KubeSphere's four scopes, so it sees the object after every
//! mutation and the strategy's defaults. The rules:
//!
//! - Members of `system:masters` and the server's own user
//!   ([`SERVER_USER`]) always pass (`EscalationAllowed`); so does a write
//!   with no user at all (the embedded API used in process without the
//!   filter chain, which always sets one), as Kubernetes' insecure port did.
//! - **Roles** (Role, ClusterRole, GlobalRole, WorkspaceRole): the writer
//!   may `escalate` that role (resource `roles`, `clusterroles`,
//!   `globalroles` or `workspaceroles` in the role's API group, at the
//!   role's scope), or holds, at the role's scope, every rule the role
//!   grants (ks-rbac's [`covers`], Kubernetes' `Covers`). As in Kubernetes
//!   the `escalate` check names the object only on update: a create's
//!   request names no object, so only an `escalate` rule without
//!   `resourceNames` allows creating a role.
//! - The rules a role grants are its own `rules` and, for KubeSphere's
//!   `iam.kubesphere.io/aggregation-roles` annotation, the rules of the
//!   roles it names (of the same kind; a Role's in its namespace), read
//!   from the store and followed transitively the way ks-rbac aggregates
//!   them ([`ks_rbac::aggregation`]).
//! - A ClusterRole's `aggregationRule` can gather anything: as in
//!   Kubernetes, a writer without `escalate` needs full authority (`*` on
//!   `*.*` and on every URL) to set or change one, on top of covering the
//!   object's `rules`. The ClusterRoles its selectors pick are not added to
//!   the rules checked (full authority covers them); the aggregation
//!   controllers write as `system:masters` or hold `escalate`.
//! - **Bindings** (RoleBinding, ClusterRoleBinding, GlobalRoleBinding,
//!   WorkspaceRoleBinding): the writer may `bind` the referenced role
//!   (resource by `roleRef.kind`, named `roleRef.name`, in that kind's API
//!   group, at the binding's scope), or holds at the binding's scope every
//!   rule the referenced role grants (its rules and everything it
//!   aggregates, by annotation or `aggregationRule`, since that is what
//!   the authorizer grants). A RoleBinding grants a ClusterRole's rules in
//!   its namespace only, so covering is checked in that namespace: a
//!   namespace admin may bind an `admin`-like ClusterRole there. A
//!   `roleRef` to a role that does not exist is refused with Kubernetes'
//!   `NotFound` unless the writer may `bind` it.
//! - Scopes: a Role or RoleBinding is checked in its namespace (which
//!   brings in its workspace's and the cluster's bindings), a ClusterRole
//!   or ClusterRoleBinding at cluster scope, a GlobalRole or
//!   GlobalRoleBinding at global scope, a WorkspaceRole or
//!   WorkspaceRoleBinding in the workspace of its `kubesphere.io/workspace`
//!   label.
//! - Updates are checked like creates, except an update that changes only
//!   what the garbage collector changes (owner references, finalizers) and
//!   the server's own fields (`IsOnlyMutatingGCFields`). Deletes and
//!   subresources are not checked.
//!
//! A refusal is Kubernetes' 403: `roles.rbac.authorization.k8s.io "x" is
//! forbidden: user "bob" (groups=["system:authenticated"]) is attempting
//! to grant RBAC permissions not currently held:` followed by the missing
//! rules, one per line, compacted and sorted as Kubernetes prints them
//! (`{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::rbac::v1::{AggregationRule, PolicyRule, RoleRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use ks_kube_api::admission::{AdmissionPlugin, AdmissionRequest, Operation};
use ks_kube_api::error::{ApiResult, GroupResource};
use ks_kube_api::resources::ResourceDef;
use ks_kube_api::{ApiError, App, UserInfo};
use ks_rbac::aggregation::{aggregation_role_names, any_selector_matches};
use ks_rbac::grant::{BindingKind, RoleKind};
use ks_rbac::queries::{covers, rules_for, scope_of};
use ks_rbac::{Attributes, PolicySnapshot};
use ks_request_info::ResourceScope;
use ks_store::ListOptions;
use serde::Deserialize;
use serde_json::Value;

use crate::authz::Rbac;
use crate::internal::{MASTERS_GROUP, SERVER_USER};

/// Kubernetes' escalation prevention for the role and binding kinds of
/// all four scopes, as a validating admission plugin (see the
/// [module](self) for the rules). The writer's own rules come from the
/// authorizer's current policy, the referenced roles from the store.
#[derive(Debug)]
pub struct EscalationCheck {
    rbac: Arc<Rbac>,
}

impl EscalationCheck {
    /// The plugin, deciding with `rbac`'s policy (the one the server
    /// authorizes requests with).
    pub fn new(rbac: Arc<Rbac>) -> Self {
        EscalationCheck { rbac }
    }
}

#[async_trait]
impl AdmissionPlugin for EscalationCheck {
    fn name(&self) -> &'static str {
        "RBACEscalation"
    }

    async fn validate(&self, app: &App, request: &AdmissionRequest<'_>) -> ApiResult<()> {
        if !matches!(request.operation, Operation::Create | Operation::Update)
            || !request.subresource.is_empty()
        {
            return Ok(());
        }
        let Some(target) = Target::of(request.resource) else {
            return Ok(());
        };
        let Some(obj) = &request.object else {
            return Ok(());
        };
        if escalation_allowed(request.user) {
            return Ok(());
        }
        let snapshot = self.rbac.snapshot();
        match target {
            Target::Role(kind) => check_role(app, &snapshot, request, kind, obj).await,
            Target::Binding(kind) => check_binding(app, &snapshot, request, kind, obj).await,
        }
    }
}

/// Kubernetes' `EscalationAllowed`, with the server's own user and the
/// user-less in-process API.
fn escalation_allowed(user: &UserInfo) -> bool {
    (user.name.is_empty() && user.groups.is_empty())
        || user.name == SERVER_USER
        || user.groups.iter().any(|g| g == MASTERS_GROUP)
}

/// What a write is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Role(RoleKind),
    Binding(BindingKind),
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const IAM_GROUP: &str = "iam.kubesphere.io";

impl Target {
    /// The kind of `def`, matched by group and resource at any version (so
    /// no version escapes the check).
    fn of(def: &ResourceDef) -> Option<Target> {
        Some(match (def.group.as_str(), def.plural.as_str()) {
            (RBAC_GROUP, "roles") => Target::Role(RoleKind::Role),
            (RBAC_GROUP, "clusterroles") => Target::Role(RoleKind::ClusterRole),
            (IAM_GROUP, "globalroles") => Target::Role(RoleKind::GlobalRole),
            (IAM_GROUP, "workspaceroles") => Target::Role(RoleKind::WorkspaceRole),
            (RBAC_GROUP, "rolebindings") => Target::Binding(BindingKind::RoleBinding),
            (RBAC_GROUP, "clusterrolebindings") => Target::Binding(BindingKind::ClusterRoleBinding),
            (IAM_GROUP, "globalrolebindings") => Target::Binding(BindingKind::GlobalRoleBinding),
            (IAM_GROUP, "workspacerolebindings") => {
                Target::Binding(BindingKind::WorkspaceRoleBinding)
            }
            _ => return None,
        })
    }
}

/// The API group and resource of a role kind.
fn role_resource(kind: RoleKind) -> (&'static str, &'static str) {
    match kind {
        RoleKind::Role => (RBAC_GROUP, "roles"),
        RoleKind::ClusterRole => (RBAC_GROUP, "clusterroles"),
        RoleKind::GlobalRole => (IAM_GROUP, "globalroles"),
        RoleKind::WorkspaceRole => (IAM_GROUP, "workspaceroles"),
    }
}

/// The scope at which a binding of `kind` grants its role.
fn binding_scope(kind: BindingKind) -> ResourceScope {
    match kind {
        BindingKind::RoleBinding => ResourceScope::Namespace,
        BindingKind::ClusterRoleBinding => ResourceScope::Cluster,
        BindingKind::GlobalRoleBinding => ResourceScope::Global,
        BindingKind::WorkspaceRoleBinding => ResourceScope::Workspace,
    }
}

/// The writer, at the scope where the written role or binding applies.
struct Writer<'a> {
    user: &'a UserInfo,
    scope: ResourceScope,
    namespace: &'a str,
    workspace: &'a str,
}

impl<'a> Writer<'a> {
    /// The writer at `scope`: a namespace scope is the request's namespace,
    /// a workspace scope the object's workspace label.
    fn at(request: &AdmissionRequest<'a>, scope: ResourceScope, meta: &'a ObjectMeta) -> Self {
        Writer {
            user: request.user,
            scope,
            namespace: match scope {
                ResourceScope::Namespace => request.namespace,
                _ => "",
            },
            workspace: match scope {
                ResourceScope::Workspace => ks_types::meta::workspace_of(meta).unwrap_or(""),
                _ => "",
            },
        }
    }

    fn attrs(&self) -> Attributes<'_> {
        Attributes {
            user: &self.user.name,
            groups: (&self.user.groups).into(),
            extra: (&self.user.extra).into(),
            namespace: self.namespace,
            workspace: self.workspace,
            resource_scope: Some(self.scope),
            is_resource_request: true,
            ..Attributes::default()
        }
    }

    /// Whether the writer may `verb` (`escalate`, `bind`) the role of
    /// `kind` named `name` at this scope.
    fn may(&self, snapshot: &PolicySnapshot, verb: &str, kind: RoleKind, name: &str) -> bool {
        let (api_group, resource) = role_resource(kind);
        snapshot.is_allowed(&Attributes {
            verb,
            api_group,
            resource,
            name,
            ..self.attrs()
        })
    }

    /// `ConfirmNoEscalation`: `None` when the writer's rules at this scope
    /// cover `rules`, else why not (Kubernetes' message).
    fn uncovered(&self, snapshot: &PolicySnapshot, rules: &[PolicyRule]) -> Option<String> {
        let owner = rules_for(snapshot, &self.attrs());
        let (covered, missing) = covers(&owner.rules, rules);
        if covered {
            return None;
        }
        let mut msg = format!(
            "user {:?} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
            self.user.name,
            go_quoted(&self.user.groups),
            describe_missing(&missing),
        );
        if !owner.errors.is_empty() {
            // Go prints `[]error{utilerrors.NewAggregate(errs)}` with %v.
            let aggregate = match owner.errors.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            let _ = write!(msg, "; resolution errors: [{aggregate}]");
        }
        Some(msg)
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quoted(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

fn list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or_default()
}

/// Kubernetes' `CompactString` of a rule:
/// `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
fn compact_string(rule: &PolicyRule) -> String {
    let fields = [
        ("APIGroups", list(&rule.api_groups)),
        ("Resources", list(&rule.resources)),
        ("NonResourceURLs", list(&rule.non_resource_urls)),
        ("ResourceNames", list(&rule.resource_names)),
        ("Verbs", rule.verbs.as_slice()),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, values)| format!("{name}:{}", go_quoted(values)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The missing atomic rules as Kubernetes lists them: rules about one API
/// group, resource and at most one name merged across verbs
/// (`CompactRules`), each printed with [`compact_string`], sorted and
/// deduplicated, one per line.
fn describe_missing(missing: &[PolicyRule]) -> String {
    // (group, resource, name) -> the merged rule.
    let mut simple: BTreeMap<(&str, &str, Option<&str>), PolicyRule> = BTreeMap::new();
    let mut lines = BTreeSet::new();
    for rule in missing {
        let names = list(&rule.resource_names);
        match (list(&rule.api_groups), list(&rule.resources)) {
            ([group], [resource])
                if names.len() <= 1 && list(&rule.non_resource_urls).is_empty() =>
            {
                let key = (
                    group.as_str(),
                    resource.as_str(),
                    names.first().map(String::as_str),
                );
                let merged = simple.entry(key).or_insert_with(|| PolicyRule {
                    verbs: Vec::new(),
                    ..rule.clone()
                });
                for verb in &rule.verbs {
                    if !merged.verbs.contains(verb) {
                        merged.verbs.push(verb.clone());
                    }
                }
            }
            _ => {
                lines.insert(compact_string(rule));
            }
        }
    }
    lines.extend(simple.values().map(compact_string));
    lines.into_iter().collect::<Vec<_>>().join("\n")
}

/// Kubernetes' `NewForbidden(groupResource, name, err)`.
fn forbidden(request: &AdmissionRequest<'_>, why: &str) -> ApiError {
    let gr = request.group_resource();
    let message = if request.name.is_empty() {
        format!("{gr} is forbidden: {why}")
    } else {
        format!("{gr} {:?} is forbidden: {why}", request.name)
    };
    let mut err = ApiError::forbidden(message);
    err.name = (!request.name.is_empty()).then(|| request.name.to_owned());
    err.group = (!gr.group.is_empty()).then(|| gr.group.to_owned());
    err.kind = Some(gr.resource.to_owned());
    err
}

fn undecodable(e: serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("the object does not decode: {e}"))
}

/// The parts of any of the four role kinds that say what it grants.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleObject {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    rules: Option<Vec<PolicyRule>>,
    #[serde(default)]
    aggregation_rule: Option<AggregationRule>,
}

impl RoleObject {
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    fn rules(&self) -> &[PolicyRule] {
        self.rules.as_deref().unwrap_or_default()
    }

    /// A ClusterRole's `aggregationRule.clusterRoleSelectors`.
    fn selectors(&self) -> &[LabelSelector] {
        (self.aggregation_rule.as_ref())
            .and_then(|a| a.cluster_role_selectors.as_deref())
            .unwrap_or_default()
    }
}

/// The parts of a binding the check needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindingObject {
    #[serde(default)]
    metadata: ObjectMeta,
    role_ref: RoleRef,
}

/// Kubernetes' `IsOnlyMutatingGCFields`: whether `new` differs from `old`
/// only in owner references and finalizers (and the fields the server
/// owns).
fn only_gc_fields_change(new: &Value, old: &Value) -> bool {
    const IGNORED: [&str; 6] = [
        "ownerReferences",
        "finalizers",
        "selfLink",
        "managedFields",
        "resourceVersion",
        "generation",
    ];
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in IGNORED {
                meta.remove(field);
            }
        }
        v
    };
    strip(new) == strip(old)
}

/// The role and ClusterRole writes: `escalate`, or covering the rules the
/// role grants (and full authority for an `aggregationRule`).
async fn check_role(
    app: &App,
    snapshot: &PolicySnapshot,
    request: &AdmissionRequest<'_>,
    kind: RoleKind,
    obj: &Value,
) -> ApiResult<()> {
    let role = RoleObject::deserialize(obj).map_err(undecodable)?;
    let writer = Writer::at(request, scope_of(kind), &role.metadata);
    // The name a request carries: none on create (`RoleEscalationAuthorized`
    // uses the request info's name).
    let requested_name = match request.operation {
        Operation::Update => request.name,
        _ => "",
    };
    if writer.may(snapshot, "escalate", kind, requested_name) {
        return Ok(());
    }
    let old = match (request.operation, request.old_object) {
        (Operation::Update, Some(old)) => {
            if only_gc_fields_change(obj, old) {
                return Ok(());
            }
            Some(RoleObject::deserialize(old).map_err(undecodable)?)
        }
        _ => None,
    };
    let namespace = match kind {
        RoleKind::Role => request.namespace,
        _ => "",
    };
    let mut store = RoleStore::new(app, kind, namespace);
    let rules = store.granted_by(&role, false).await?;
    if let Some(why) = writer.uncovered(snapshot, &rules) {
        return Err(forbidden(request, &why));
    }
    let aggregates = |r: &RoleObject| kind == RoleKind::ClusterRole && !r.selectors().is_empty();
    if (aggregates(&role) || old.as_ref().is_some_and(aggregates))
        && writer.uncovered(snapshot, &full_authority()).is_some()
    {
        return Err(forbidden(
            request,
            "must have cluster-admin privileges to use the aggregationRule",
        ));
    }
    Ok(())
}

/// `*` on every resource of every group, and on every URL.
fn full_authority() -> [PolicyRule; 2] {
    let all = || Some(vec!["*".to_owned()]);
    [
        PolicyRule {
            api_groups: all(),
            resources: all(),
            verbs: vec!["*".to_owned()],
            ..PolicyRule::default()
        },
        PolicyRule {
            non_resource_urls: all(),
            verbs: vec!["*".to_owned()],
            ..PolicyRule::default()
        },
    ]
}

/// The binding writes: `bind` on the referenced role, or covering its
/// rules.
async fn check_binding(
    app: &App,
    snapshot: &PolicySnapshot,
    request: &AdmissionRequest<'_>,
    kind: BindingKind,
    obj: &Value,
) -> ApiResult<()> {
    if let (Operation::Update, Some(old)) = (request.operation, request.old_object)
        && only_gc_fields_change(obj, old)
    {
        return Ok(());
    }
    let binding = BindingObject::deserialize(obj).map_err(undecodable)?;
    let writer = Writer::at(request, binding_scope(kind), &binding.metadata);
    let role_ref = &binding.role_ref;
    let Some(role_kind) = RoleKind::parse(&role_ref.kind) else {
        return Err(forbidden(
            request,
            &format!("unsupported role reference kind: {:?}", role_ref.kind),
        ));
    };
    if writer.may(snapshot, "bind", role_kind, &role_ref.name) {
        return Ok(());
    }
    // KubeSphere resolves a roleRef by its kind: a Role in the binding's
    // namespace, the other kinds by name.
    let namespace = match role_kind {
        RoleKind::Role => request.namespace,
        _ => "",
    };
    let mut store = RoleStore::new(app, role_kind, namespace);
    let Some(role) = store.get(&role_ref.name).await? else {
        let (group, resource) = role_resource(role_kind);
        return Err(ApiError::not_found(
            GroupResource { group, resource },
            &role_ref.name,
        ));
    };
    let rules = store.granted_by(&role, true).await?;
    if let Some(why) = writer.uncovered(snapshot, &rules) {
        return Err(forbidden(request, &why));
    }
    Ok(())
}

/// Stored roles of one kind (and, for Roles, one namespace), for
/// following aggregation.
struct RoleStore<'a> {
    app: &'a App,
    kind: RoleKind,
    namespace: &'a str,
    /// Every ClusterRole, read once when a selector needs them.
    cluster_roles: Option<Vec<RoleObject>>,
}

impl<'a> RoleStore<'a> {
    fn new(app: &'a App, kind: RoleKind, namespace: &'a str) -> Self {
        RoleStore {
            app,
            kind,
            namespace,
            cluster_roles: None,
        }
    }

    /// The store prefix of this kind's roles (in the namespace, for Roles),
    /// as authorization reads them.
    fn prefix(&self) -> Option<String> {
        let (group, resource) = role_resource(self.kind);
        match self.kind {
            RoleKind::Role if self.namespace.is_empty() => None,
            RoleKind::Role => Some(format!("/{group}/{resource}/{}/", self.namespace)),
            _ => Some(format!("/{group}/{resource}/")),
        }
    }

    /// The stored role `name`; `None` when there is none (or it does not
    /// decode, which authorization treats the same way).
    async fn get(&self, name: &str) -> ApiResult<Option<RoleObject>> {
        let Some(prefix) = self.prefix() else {
            return Ok(None);
        };
        if name.is_empty() || name.contains('/') {
            return Ok(None);
        }
        let kv = self
            .app
            .store
            .get(&format!("{prefix}{name}"))
            .await
            .map_err(ApiError::from)?;
        Ok(kv.and_then(|kv| decode_stored(&kv.key, &kv.value)))
    }

    /// Every stored ClusterRole.
    async fn cluster_roles(&mut self) -> ApiResult<&[RoleObject]> {
        if self.cluster_roles.is_none() {
            let (group, resource) = role_resource(RoleKind::ClusterRole);
            let prefix = format!("/{group}/{resource}/");
            let page = (self.app.store)
                .list(ListOptions::prefix(&prefix))
                .await
                .map_err(ApiError::from)?;
            let roles = (page.items.iter())
                .filter_map(|kv| decode_stored(&kv.key, &kv.value))
                .collect();
            self.cluster_roles = Some(roles);
        }
        Ok(self.cluster_roles.as_deref().unwrap_or_default())
    }

    /// The rules `root` grants: its own, then those of every role it
    /// aggregates, transitively, each once (ks-rbac's effective rules).
    /// `root`'s own `aggregationRule` is followed only with
    /// `follow_root_selectors` (a role being written is checked for full
    /// authority instead).
    async fn granted_by(
        &mut self,
        root: &RoleObject,
        follow_root_selectors: bool,
    ) -> ApiResult<Vec<PolicyRule>> {
        let mut rules = root.rules().to_vec();
        let mut reached = BTreeSet::from([root.name().to_owned()]);
        let mut queue = vec![self.edges(root, follow_root_selectors)];
        while let Some(edges) = queue.pop() {
            let mut found = Vec::new();
            for name in edges.names {
                if reached.contains(&name) {
                    continue;
                }
                if let Some(role) = self.get(&name).await? {
                    reached.insert(name);
                    found.push(role);
                }
            }
            if !edges.selectors.is_empty() {
                for role in self.cluster_roles().await? {
                    let name = role.name();
                    if name != edges.from
                        && !reached.contains(name)
                        && any_selector_matches(&edges.selectors, &role.metadata)
                    {
                        reached.insert(name.to_owned());
                        found.push(role.clone());
                    }
                }
            }
            for role in found {
                rules.extend_from_slice(role.rules());
                queue.push(self.edges(&role, true));
            }
        }
        Ok(rules)
    }

    /// Where aggregation goes from `role`: the roles its annotation names
    /// and, for a ClusterRole, its selectors.
    fn edges(&self, role: &RoleObject, follow_selectors: bool) -> Edges {
        let selectors = if follow_selectors && self.kind == RoleKind::ClusterRole {
            role.selectors().to_vec()
        } else {
            Vec::new()
        };
        Edges {
            from: role.name().to_owned(),
            names: aggregation_role_names(&role.metadata),
            selectors,
        }
    }
}

/// The aggregation edges of one role.
struct Edges {
    from: String,
    names: Vec<String>,
    selectors: Vec<LabelSelector>,
}

/// A stored role, or `None` (logged) when it does not decode.
fn decode_stored(key: &str, value: &[u8]) -> Option<RoleObject> {
    match serde_json::from_slice(value) {
        Ok(role) => Some(role),
        Err(e) => {
            tracing::warn!(%key, error = %e, "a stored role does not decode; it grants nothing");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ks_kube_api::api::create_internal;
    use ks_store::{Storage, Store, StoreConfig};
    use serde_json::json;

    const AUTHENTICATED: &[&str] = &["system:authenticated"];

    fn meta(name: &str, namespace: Option<&str>, workspace: Option<&str>) -> Value {
        let mut meta = json!({"name": name});
        if let Some(ns) = namespace {
            meta["namespace"] = json!(ns);
        }
        if let Some(ws) = workspace {
            meta["labels"] = json!({"kubesphere.io/workspace": ws});
        }
        meta
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
        json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
    }

    fn named(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> Value {
        json!({"apiGroups": groups, "resources": resources, "verbs": verbs, "resourceNames": names})
    }

    fn namespace(name: &str, workspace: Option<&str>) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, workspace)})
    }

    fn role(ns: &str, name: &str, rules: Vec<Value>) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": meta(name, Some(ns), None), "rules": rules})
    }

    fn cluster_role(name: &str, rules: Vec<Value>) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": meta(name, None, None), "rules": rules})
    }

    fn global_role(name: &str, rules: Vec<Value>) -> Value {
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRole",
               "metadata": meta(name, None, None), "rules": rules})
    }

    fn workspace_role(ws: &str, name: &str, rules: Vec<Value>) -> Value {
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRole",
               "metadata": meta(name, None, Some(ws)), "rules": rules})
    }

    /// With the `iam.kubesphere.io/aggregation-roles` annotation.
    fn aggregating(mut role: Value, names: &[&str]) -> Value {
        let names = serde_json::to_string(names).unwrap_or_default();
        role["metadata"]["annotations"] = json!({"iam.kubesphere.io/aggregation-roles": names});
        role
    }

    fn role_ref(kind: &str, name: &str) -> Value {
        let group = match kind {
            "Role" | "ClusterRole" => RBAC_GROUP,
            _ => IAM_GROUP,
        };
        json!({"apiGroup": group, "kind": kind, "name": name})
    }

    fn user(name: &str) -> Value {
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}])
    }

    fn role_binding(ns: &str, name: &str, kind: &str, role: &str, to: &str) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": meta(name, Some(ns), None),
               "roleRef": role_ref(kind, role), "subjects": user(to)})
    }

    fn cluster_role_binding(name: &str, role: &str, to: &str) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": meta(name, None, None),
               "roleRef": role_ref("ClusterRole", role), "subjects": user(to)})
    }

    fn global_role_binding(name: &str, role: &str, to: &str) -> Value {
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GlobalRoleBinding",
               "metadata": meta(name, None, None),
               "roleRef": role_ref("GlobalRole", role), "subjects": user(to)})
    }

    fn workspace_role_binding(ws: &str, name: &str, role: &str, to: &str) -> Value {
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "WorkspaceRoleBinding",
               "metadata": meta(name, None, Some(ws)),
               "roleRef": role_ref("WorkspaceRole", role), "subjects": user(to)})
    }

    const ALL: &[&str] = &["*"];
    const EDIT: &[&str] = &[
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];

    /// The policy every case runs against (besides the bootstrap roles:
    /// `cluster-admin`, `system:discovery` bound to every authenticated
    /// user, KubeSphere's global roles and templates).
    fn policy() -> Vec<Value> {
        let mut objects = vec![
            namespace("ns1", Some("ws1")),
            namespace("ns2", Some("ws2")),
            namespace("ns3", None),
            // bob administers ns1.
            role("ns1", "ns-admin", vec![rule(ALL, ALL, ALL)]),
            role_binding("ns1", "bob-admin", "Role", "ns-admin", "bob"),
            // carol administers ns1 with explicit verbs, like Kubernetes'
            // `admin` (no `bind`, no `escalate`).
            role("ns1", "ns-editor", vec![rule(ALL, ALL, EDIT)]),
            role_binding("ns1", "carol-editor", "Role", "ns-editor", "carol"),
            // An `admin`-like ClusterRole (resources only) and a narrow one.
            cluster_role("project-admin", vec![rule(ALL, ALL, ALL)]),
            cluster_role("project-editor", vec![rule(ALL, ALL, EDIT)]),
            cluster_role(
                "secrets-reader",
                vec![rule(&[""], &["secrets"], &["get", "list"])],
            ),
            // A ClusterRole aggregated by label, with no rules of its own.
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "agg-view"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "view"}}]}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "view-pods", "labels": {"agg": "view"}},
                   "rules": [rule(&[""], &["pods"], &["get"])]}),
            // dave may escalate roles in ns2.
            role(
                "ns2",
                "escalator",
                vec![rule(&[RBAC_GROUP], &["roles"], &["escalate"])],
            ),
            role_binding("ns2", "dave-escalate", "Role", "escalator", "dave"),
            // nora may escalate the role `special` in ns2 only.
            role(
                "ns2",
                "special-escalator",
                vec![named(
                    &[RBAC_GROUP],
                    &["roles"],
                    &["escalate"],
                    &["special"],
                )],
            ),
            role_binding("ns2", "nora-escalate", "Role", "special-escalator", "nora"),
            // erin may bind cluster-admin in ns1; frank may bind any ClusterRole there.
            role(
                "ns1",
                "binder",
                vec![named(
                    &[RBAC_GROUP],
                    &["clusterroles"],
                    &["bind"],
                    &["cluster-admin"],
                )],
            ),
            role_binding("ns1", "erin-bind", "Role", "binder", "erin"),
            role(
                "ns1",
                "any-binder",
                vec![rule(&[RBAC_GROUP], &["clusterroles"], &["bind"])],
            ),
            role_binding("ns1", "frank-bind", "Role", "any-binder", "frank"),
            // wendy administers workspace ws1.
            workspace_role_binding("ws1", "wendy-admin", "ws1-admin", "wendy"),
            // pat is a platform admin.
            global_role_binding("pat-admin", "platform-admin", "pat"),
            // gina may read users.
            global_role(
                "users-reader",
                vec![rule(&[IAM_GROUP], &["users"], &["get", "list"])],
            ),
            global_role_binding("gina-users", "users-reader", "gina"),
            // A chain (and a cycle) of aggregated global roles.
            aggregating(global_role("chain-a", vec![]), &["chain-b"]),
            aggregating(
                global_role("chain-b", vec![rule(&[""], &["secrets"], &["get"])]),
                &["chain-a"],
            ),
            // A binding to cluster-admin in ns1 that bob did not make.
            role_binding("ns1", "root-admin", "ClusterRole", "cluster-admin", "root"),
        ];
        for ws in ["ws1", "ws2"] {
            for r in ks_types::builtin::workspace_roles(ws) {
                objects.push(serde_json::to_value(r).unwrap_or_default());
            }
        }
        objects
    }

    struct Fixture {
        app: Arc<App>,
        plugin: EscalationCheck,
        _task: crate::authz::RbacTask,
    }

    async fn fixture() -> Fixture {
        let store: Arc<dyn Storage> = Arc::new(Store::in_memory(StoreConfig::default()));
        let app = crate::app(Arc::clone(&store));
        crate::bootstrap::bootstrap(&app).await.expect("bootstrap");
        for obj in policy() {
            let what = obj["metadata"]["name"].clone();
            let created = create_internal(&app, obj).await;
            assert_eq!(created, Ok(true), "creating {what}");
        }
        let (rbac, task) = Rbac::follow(store).await.expect("following the store");
        rbac.settled().await;
        Fixture {
            app,
            plugin: EscalationCheck::new(rbac),
            _task: task,
        }
    }

    #[derive(Debug)]
    enum Want {
        Allow,
        /// 403 whose message contains each of these.
        Deny(&'static [&'static str]),
        NotFound,
    }

    struct Case {
        name: &'static str,
        user: &'static str,
        groups: &'static [&'static str],
        operation: Operation,
        object: Value,
        old: Option<Value>,
        want: Want,
    }

    fn case(name: &'static str, user: &'static str, object: Value, want: Want) -> Case {
        Case {
            name,
            user,
            groups: AUTHENTICATED,
            operation: Operation::Create,
            object,
            old: None,
            want,
        }
    }

    impl Fixture {
        async fn run(&self, case: &Case) -> ApiResult<()> {
            let api_version = case.object["apiVersion"].as_str().unwrap_or("");
            let kind = case.object["kind"].as_str().unwrap_or("");
            let view = self.app.registry.view();
            let def = view
                .by_api_version_kind(api_version, kind)
                .unwrap_or_else(|| panic!("{}: no resource for {kind}", case.name));
            let user = UserInfo::new(case.user, case.groups.iter().copied());
            let request = AdmissionRequest {
                operation: case.operation,
                resource: def,
                subresource: "",
                namespace: case.object["metadata"]["namespace"].as_str().unwrap_or(""),
                name: case.object["metadata"]["name"].as_str().unwrap_or(""),
                object: (case.operation != Operation::Delete).then(|| case.object.clone()),
                old_object: case.old.as_ref(),
                user: &user,
                dry_run: false,
            };
            self.plugin.validate(&self.app, &request).await
        }
    }

    fn cases() -> Vec<Case> {
        use Want::*;
        let secrets = || vec![rule(&[""], &["secrets"], &["get", "list"])];
        let with_finalizer = |mut obj: Value| {
            obj["metadata"]["finalizers"] = json!(["example.com/keep"]);
            obj
        };
        let aggregated_cluster_role = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "mine"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
        });
        vec![
            // carol (explicit verbs) is checked by covering. A RoleBinding
            // grants a ClusterRole's rules in its namespace only, so they
            // are covered there.
            case(
                "ns admin binds an admin-like ClusterRole in its namespace",
                "carol",
                role_binding("ns1", "b", "ClusterRole", "project-editor", "carl"),
                Allow,
            ),
            case(
                "ns admin binds its own Role",
                "carol",
                role_binding("ns1", "b", "Role", "ns-editor", "carl"),
                Allow,
            ),
            case(
                "ns admin cannot bind cluster-admin in its namespace",
                "carol",
                role_binding("ns1", "b", "ClusterRole", "cluster-admin", "carl"),
                Deny(&[
                    "rolebindings.rbac.authorization.k8s.io \"b\" is forbidden: user \"carol\"",
                    "not currently held:\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}\n{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}",
                ]),
            ),
            case(
                "ns admin cannot bind a ClusterRole with verbs it lacks",
                "carol",
                role_binding("ns1", "b", "ClusterRole", "project-admin", "carl"),
                Deny(&["{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}"]),
            ),
            case(
                "ns admin cannot bind in another namespace",
                "carol",
                role_binding("ns2", "b", "ClusterRole", "project-editor", "carl"),
                Deny(&["Verbs:[\"get\" \"list\" \"watch\" \"create\""]),
            ),
            case(
                "ns admin cannot make a ClusterRoleBinding",
                "carol",
                cluster_role_binding("b", "project-editor", "carl"),
                Deny(&[
                    "clusterrolebindings.rbac.authorization.k8s.io \"b\" is forbidden: user \"carol\"",
                    "{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"get\"",
                ]),
            ),
            case(
                "ns admin writes a Role within its rules",
                "carol",
                role("ns1", "r", secrets()),
                Allow,
            ),
            case(
                "ns admin cannot write a Role beyond its rules",
                "carol",
                role(
                    "ns1",
                    "r",
                    vec![rule(&[""], &["secrets"], &["get", "escalate"])],
                ),
                Deny(&["\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"escalate\"]}"]),
            ),
            case(
                "ns admin cannot bind a missing ClusterRole",
                "carol",
                role_binding("ns1", "b", "ClusterRole", "nope", "carl"),
                NotFound,
            ),
            case(
                "ns admin cannot bind a missing Role",
                "carol",
                role_binding("ns1", "b", "Role", "nope", "carl"),
                NotFound,
            ),
            case(
                "ns admin covers an aggregated ClusterRole in its namespace",
                "carol",
                role_binding("ns1", "b", "ClusterRole", "agg-view", "carl"),
                Allow,
            ),
            // bob's `*` on `*` in ns1 includes `bind` and `escalate` there:
            // as in Kubernetes, he may bind anything in ns1 (cluster-admin's
            // URL rules never apply through a RoleBinding), but nothing
            // outside it.
            case(
                "`*` in a namespace includes bind there",
                "bob",
                role_binding("ns1", "b", "ClusterRole", "cluster-admin", "carl"),
                Allow,
            ),
            case(
                "`*` in a namespace binds missing roles there",
                "bob",
                role_binding("ns1", "b", "Role", "nope", "carl"),
                Allow,
            ),
            case(
                "`*` in a namespace includes escalate there",
                "bob",
                role("ns1", "r", vec![rule(ALL, ALL, ALL)]),
                Allow,
            ),
            case(
                "`*` in a namespace grants no ClusterRoleBinding",
                "bob",
                cluster_role_binding("b", "project-admin", "carl"),
                Deny(&["{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}"]),
            ),
            case(
                "`*` in a namespace grants no narrow ClusterRoleBinding",
                "bob",
                cluster_role_binding("b", "secrets-reader", "carl"),
                Deny(&["{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}"]),
            ),
            case(
                "ns admin cannot write a Role granting secrets in ns2",
                "bob",
                role("ns2", "secret-reader", secrets()),
                Deny(&[
                    "roles.rbac.authorization.k8s.io \"secret-reader\" is forbidden: user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}",
                ]),
            ),
            case(
                "ns admin cannot write a ClusterRole",
                "bob",
                cluster_role("c", secrets()),
                Deny(&["clusterroles.rbac.authorization.k8s.io \"c\""]),
            ),
            case(
                "aggregated rules of a bound ClusterRole are checked",
                "erin",
                role_binding("ns1", "b", "ClusterRole", "agg-view", "carl"),
                Deny(&["{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\"]}"]),
            ),
            case(
                "ns admin covers an aggregated ClusterRole in its namespace",
                "bob",
                role_binding("ns1", "b", "ClusterRole", "agg-view", "carl"),
                Allow,
            ),
            case(
                "an aggregationRule needs full authority",
                "bob",
                aggregated_cluster_role.clone(),
                Deny(&[
                    "clusterroles.rbac.authorization.k8s.io \"mine\" is forbidden: must have cluster-admin privileges to use the aggregationRule",
                ]),
            ),
            // escalate and bind.
            case(
                "escalate allows granting what one lacks",
                "dave",
                role("ns2", "r", secrets()),
                Allow,
            ),
            case(
                "escalate applies at its scope only",
                "dave",
                role("ns1", "r", secrets()),
                Deny(&["not currently held"]),
            ),
            case(
                "escalate limited to names does not allow a create",
                "nora",
                role("ns2", "special", secrets()),
                Deny(&["not currently held"]),
            ),
            Case {
                operation: Operation::Update,
                old: Some(role("ns2", "special", vec![])),
                ..case(
                    "escalate limited to names allows that role's update",
                    "nora",
                    role("ns2", "special", secrets()),
                    Allow,
                )
            },
            Case {
                operation: Operation::Update,
                old: Some(role("ns2", "other", vec![])),
                ..case(
                    "escalate limited to names allows no other update",
                    "nora",
                    role("ns2", "other", secrets()),
                    Deny(&["not currently held"]),
                )
            },
            case(
                "bind allows binding what one lacks",
                "erin",
                role_binding("ns1", "b", "ClusterRole", "cluster-admin", "carl"),
                Allow,
            ),
            case(
                "bind applies at its scope only",
                "erin",
                role_binding("ns2", "b", "ClusterRole", "cluster-admin", "carl"),
                Deny(&["rolebindings.rbac.authorization.k8s.io \"b\" is forbidden"]),
            ),
            case(
                "bind names the role",
                "erin",
                role_binding("ns1", "b", "ClusterRole", "secrets-reader", "carl"),
                Deny(&["Resources:[\"secrets\"]"]),
            ),
            case(
                "a namespace bind is not a cluster bind",
                "erin",
                cluster_role_binding("b", "cluster-admin", "carl"),
                Deny(&["not currently held"]),
            ),
            case(
                "bind allows a roleRef to a missing role",
                "frank",
                role_binding("ns1", "b", "ClusterRole", "nope", "carl"),
                Allow,
            ),
            // Workspaces.
            case(
                "workspace admin cannot bind a GlobalRole",
                "wendy",
                global_role_binding("b", "platform-regular", "carl"),
                Deny(&["globalrolebindings.iam.kubesphere.io \"b\" is forbidden: user \"wendy\""]),
            ),
            case(
                "workspace admin cannot write a GlobalRole",
                "wendy",
                global_role("g", secrets()),
                Deny(&["globalroles.iam.kubesphere.io \"g\""]),
            ),
            case(
                "workspace admin binds in its workspace",
                "wendy",
                workspace_role_binding("ws1", "b", "ws1-viewer", "carl"),
                Allow,
            ),
            case(
                "workspace admin cannot bind in another workspace",
                "wendy",
                workspace_role_binding("ws2", "b", "ws2-viewer", "carl"),
                Deny(&["not currently held"]),
            ),
            case(
                "workspace admin writes a WorkspaceRole in its workspace",
                "wendy",
                workspace_role("ws1", "w", vec![rule(ALL, ALL, ALL)]),
                Allow,
            ),
            case(
                "workspace admin cannot write one in another workspace",
                "wendy",
                workspace_role("ws2", "w", secrets()),
                Deny(&["workspaceroles.iam.kubesphere.io \"w\""]),
            ),
            case(
                "workspace admin binds in its workspace's namespaces",
                "wendy",
                role_binding("ns1", "b", "ClusterRole", "project-admin", "carl"),
                Allow,
            ),
            case(
                "workspace admin cannot bind in other namespaces",
                "wendy",
                role_binding("ns2", "b", "ClusterRole", "project-admin", "carl"),
                Deny(&["not currently held"]),
            ),
            // KubeSphere's aggregation annotation.
            case(
                "a GlobalRole within one's rules",
                "gina",
                global_role("g", vec![rule(&[IAM_GROUP], &["users"], &["get"])]),
                Allow,
            ),
            case(
                "an aggregated template's rules are checked",
                "gina",
                aggregating(
                    global_role("g", vec![rule(&[IAM_GROUP], &["users"], &["get"])]),
                    &["role-template-manage-users"],
                ),
                Deny(&["{APIGroups:[\"*\"], Resources:[\"users/password\"], Verbs:[\"*\"]}"]),
            ),
            case(
                "aggregation is followed transitively, through a cycle",
                "gina",
                aggregating(global_role("g", vec![]), &["chain-a"]),
                Deny(&["{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\"]}"]),
            ),
            // Who always passes.
            case(
                "platform admin binds cluster-admin",
                "pat",
                cluster_role_binding("b", "cluster-admin", "carl"),
                Allow,
            ),
            case(
                "platform admin writes any GlobalRole",
                "pat",
                global_role(
                    "g",
                    vec![
                        rule(ALL, ALL, ALL),
                        json!({"nonResourceURLs": ["*"], "verbs": ["*"]}),
                    ],
                ),
                Allow,
            ),
            case(
                "platform admin may use an aggregationRule",
                "pat",
                aggregated_cluster_role.clone(),
                Allow,
            ),
            Case {
                groups: &["system:masters"],
                ..case(
                    "system:masters passes",
                    "root",
                    cluster_role_binding("b", "cluster-admin", "carl"),
                    Allow,
                )
            },
            Case {
                groups: &[],
                ..case(
                    "the server's own user passes",
                    SERVER_USER,
                    global_role_binding("b", "platform-admin", "carl"),
                    Allow,
                )
            },
            Case {
                groups: &[],
                ..case(
                    "a write with no user (in process, unauthenticated API) passes",
                    "",
                    global_role_binding("b", "platform-admin", "carl"),
                    Allow,
                )
            },
            Case {
                groups: &["system:authenticated", "dev"],
                ..case(
                    "groups are listed as Go prints them",
                    "bob",
                    cluster_role_binding("b", "secrets-reader", "carl"),
                    Deny(&["user \"bob\" (groups=[\"system:authenticated\" \"dev\"])"]),
                )
            },
            // Updates.
            Case {
                operation: Operation::Update,
                old: Some(role_binding(
                    "ns1",
                    "root-admin",
                    "ClusterRole",
                    "cluster-admin",
                    "root",
                )),
                ..case(
                    "a finalizer-only update is not checked",
                    "carol",
                    with_finalizer(role_binding(
                        "ns1",
                        "root-admin",
                        "ClusterRole",
                        "cluster-admin",
                        "root",
                    )),
                    Allow,
                )
            },
            Case {
                operation: Operation::Update,
                old: Some(role_binding(
                    "ns1",
                    "root-admin",
                    "ClusterRole",
                    "cluster-admin",
                    "root",
                )),
                ..case(
                    "changing a binding's subjects is checked",
                    "carol",
                    role_binding("ns1", "root-admin", "ClusterRole", "cluster-admin", "bob"),
                    Deny(&["NonResourceURLs:[\"*\"]"]),
                )
            },
            Case {
                operation: Operation::Update,
                old: Some(role(
                    "ns2",
                    "escalator",
                    vec![rule(&[RBAC_GROUP], &["roles"], &["escalate"])],
                )),
                ..case(
                    "a label change re-checks a role's rules",
                    "bob",
                    {
                        let mut r = role(
                            "ns2",
                            "escalator",
                            vec![rule(&[RBAC_GROUP], &["roles"], &["escalate"])],
                        );
                        r["metadata"]["labels"] = json!({"a": "b"});
                        r
                    },
                    Deny(&[
                        "{APIGroups:[\"rbac.authorization.k8s.io\"], Resources:[\"roles\"], Verbs:[\"escalate\"]}",
                    ]),
                )
            },
            Case {
                operation: Operation::Update,
                old: Some(aggregated_cluster_role.clone()),
                ..case(
                    "removing an aggregationRule needs full authority too",
                    "bob",
                    cluster_role("mine", vec![]),
                    Deny(&["must have cluster-admin privileges to use the aggregationRule"]),
                )
            },
            Case {
                operation: Operation::Delete,
                ..case(
                    "deletes are not checked",
                    "bob",
                    cluster_role_binding("root-admin", "cluster-admin", "root"),
                    Allow,
                )
            },
        ]
    }

    #[tokio::test]
    async fn escalation_table() {
        let fixture = fixture().await;
        let mut failures = Vec::new();
        for case in cases() {
            let got = fixture.run(&case).await;
            let ok = match (&case.want, &got) {
                (Want::Allow, Ok(())) => true,
                (Want::NotFound, Err(e)) => e.code == 404,
                (Want::Deny(parts), Err(e)) => {
                    e.code == 403
                        && e.reason == "Forbidden"
                        && parts.iter().all(|p| e.message.contains(p))
                }
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{}: want {:?}, got {:?}",
                    case.name,
                    case.want,
                    got.map_err(|e| e.message)
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[tokio::test]
    async fn escalation_refusal_is_kubernetes_status() {
        let fixture = fixture().await;
        let case = case(
            "",
            "bob",
            role(
                "ns2",
                "secret-reader",
                vec![
                    rule(&[""], &["secrets"], &["get", "list"]),
                    rule(&["apps"], &["deployments"], &["get"]),
                    named(&[""], &["configmaps"], &["get", "update"], &["a"]),
                    json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}),
                ],
            ),
            Want::Allow,
        );
        let err = fixture
            .run(&case)
            .await
            .expect_err("bob holds nothing in ns2");
        assert_eq!(err.code, 403);
        assert_eq!(err.name.as_deref(), Some("secret-reader"));
        assert_eq!(err.group.as_deref(), Some(RBAC_GROUP));
        assert_eq!(err.kind.as_deref(), Some("roles"));
        assert_eq!(
            err.message,
            "roles.rbac.authorization.k8s.io \"secret-reader\" is forbidden: user \"bob\" \
             (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not \
             currently held:\n\
             {APIGroups:[\"\"], Resources:[\"configmaps\"], ResourceNames:[\"a\"], Verbs:[\"get\" \"update\"]}\n\
             {APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}\n\
             {APIGroups:[\"apps\"], Resources:[\"deployments\"], Verbs:[\"get\"]}\n\
             {NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}"
        );
    }

    #[test]
    fn escalation_rules_print_as_kubernetes_does() {
        let rule = PolicyRule {
            api_groups: Some(vec![String::new(), "apps".into()]),
            resources: Some(vec!["pods".into()]),
            resource_names: Some(vec!["a\"b".into()]),
            verbs: vec!["get".into()],
            non_resource_urls: None,
        };
        assert_eq!(
            compact_string(&rule),
            r#"{APIGroups:["" "apps"], Resources:["pods"], ResourceNames:["a\"b"], Verbs:["get"]}"#
        );
        assert_eq!(compact_string(&PolicyRule::default()), "{}");
        // Atoms of one resource merge across verbs; others stay apart.
        let atom = |verb: &str, name: Option<&str>| PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["pods".into()]),
            resource_names: name.map(|n| vec![n.to_owned()]),
            verbs: vec![verb.to_owned()],
            non_resource_urls: None,
        };
        let missing = [
            atom("list", None),
            atom("get", None),
            atom("get", Some("x")),
            atom("get", None),
        ];
        assert_eq!(
            describe_missing(&missing),
            "{APIGroups:[\"\"], Resources:[\"pods\"], ResourceNames:[\"x\"], Verbs:[\"get\"]}\n\
             {APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"list\" \"get\"]}"
        );
    }

    #[test]
    fn escalation_gc_only_updates() {
        let old =
            json!({"metadata": {"name": "a", "resourceVersion": "1"}, "roleRef": {"name": "x"}});
        let mut new = old.clone();
        new["metadata"]["ownerReferences"] = json!([{"uid": "u"}]);
        new["metadata"]["finalizers"] = json!(["f"]);
        new["metadata"]["resourceVersion"] = json!("2");
        assert!(only_gc_fields_change(&new, &old));
        new["metadata"]["labels"] = json!({"a": "b"});
        assert!(!only_gc_fields_change(&new, &old));
    }
}
