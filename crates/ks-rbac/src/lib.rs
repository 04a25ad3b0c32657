//! Multi-scope RBAC for KubeSphere-style multi-tenancy.
//!
//! ks-rbac decides whether a request is allowed by Kubernetes `PolicyRule`s
//! granted through four scopes of bindings: KubeSphere's global and
//! workspace roles (`iam.kubesphere.io/v1alpha2`) and Kubernetes' cluster
//! roles and roles (`rbac.authorization.k8s.io/v1`). Rule matching is
//! Kubernetes' exactly ([`matching`]); the order in which scopes are walked
//! is KubeSphere's ([`reference`](mod@reference) documents it rule by rule). Evaluation is
//! allow-only: an Allow names the binding, role and subject that granted
//! it, anything else is "no opinion".
//!
//! It is a pure crate: no I/O, no async, no clock, no global state; it
//! builds for `wasm32-unknown-unknown`. Callers read the manifests and hand
//! over the text.
//!
//! ```
//! use ks_rbac::{Attributes, Policy, PolicySnapshot, ReferenceAuthorizer};
//! use ks_request_info::{Resolver, ResourceScope};
//!
//! let manifests = r#"
//! apiVersion: v1
//! kind: Namespace
//! metadata: {name: demo, labels: {kubesphere.io/workspace: ws1}}
//! ---
//! apiVersion: iam.kubesphere.io/v1alpha2
//! kind: WorkspaceRole
//! metadata: {name: ws1-viewer, labels: {kubesphere.io/workspace: ws1}}
//! rules: [{apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch]}]
//! ---
//! apiVersion: iam.kubesphere.io/v1alpha2
//! kind: WorkspaceRoleBinding
//! metadata: {name: alice-ws1-viewer, labels: {kubesphere.io/workspace: ws1}}
//! roleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: ws1-viewer}
//! subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
//! "#;
//! let (policy, diagnostics) = Policy::from_yaml("manifests.yaml", manifests);
//! assert!(diagnostics.is_empty());
//!
//! // Compile once (or keep it current with a LivePolicy), decide many times
//! // without allocating.
//! let snapshot = PolicySnapshot::build(&policy);
//! let info = Resolver::default().parse("GET", "/api/v1/namespaces/demo/pods").unwrap();
//! let attrs = Attributes::from_request_info(&info, "alice", &["team-a"]);
//! assert_eq!(attrs.resource_scope, Some(ResourceScope::Namespace));
//!
//! let decision = snapshot.decide(&attrs);
//! assert!(decision.is_allowed());
//! assert_eq!(
//!     snapshot.explain(&attrs, decision),
//!     r#"RBAC: allowed by WorkspaceRoleBinding "alice-ws1-viewer" of WorkspaceRole "ws1-viewer" to User "alice""#
//! );
//!
//! // The reference evaluator is the specification; they always agree.
//! assert_eq!(ReferenceAuthorizer::new(&policy).authorize(&attrs), snapshot.authorize(&attrs));
//!
//! let delete = Attributes { verb: "delete", ..attrs };
//! assert!(!snapshot.is_allowed(&delete));
//! ```
//!
//! Modules:
//! - [`policy`]: the objects ([`Policy`]) and the YAML loader with
//!   per-document [`Diagnostic`]s;
//! - [`attributes`]: what is asked ([`Attributes`], borrowed, with the
//!   user's [`Groups`] and [`Extra`]; and [`AttributesRecord`], the JSON
//!   line of `ks auth can-i --batch`);
//! - [`matching`]: Kubernetes' rule matching;
//! - [`grant`]: subjects, and how grants and errors are described;
//! - [`aggregation`]: ClusterRole `aggregationRule` and KubeSphere's
//!   `iam.kubesphere.io/aggregation-roles`;
//! - [`authorizer`]: the [`RuleSource`] trait and the generic walk;
//! - [`builtin`]: KubeSphere's built-in `authenticated` self-service grant
//!   (a user's own User, password, login records and member entries, and
//!   the filtered tenant lists), one explicit rule beside the policy;
//! - [`reference`](mod@reference): the naive evaluator, the specification and test oracle;
//! - [`snapshot`]: [`PolicySnapshot`], the compiled and indexed evaluator,
//!   with explain and who-can;
//! - [`live`]: [`LivePolicy`], a policy kept current under [`Change`]s
//!   (a store's watch), republishing its snapshot after each batch in time
//!   set by what changed;
//! - [`queries`]: the rules a user holds, and Kubernetes' escalation check
//!   ([`queries::covers`]);
//! - [`lint`]: findings about a policy (missing roles, risky grants, ...);
//! - [`synthetic`]: deterministic generated policies for benchmarks;
//! - [`Error`]: the crate's error.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aggregation;
pub mod attributes;
pub mod authorizer;
pub mod builtin;
mod compile;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod grant;
pub mod lint;
pub mod live;
pub mod matching;
pub mod policy;
pub mod queries;
pub mod reference;
pub mod snapshot;
pub mod synthetic;

pub use attributes::{Attributes, AttributesRecord, Extra, ExtraValues, Groups};
pub use authorizer::{RuleSource, Verdict, Visit};
pub use error::Error;
pub use live::{Change, CurrentSnapshot, LivePolicy, ObjectKind};
pub use policy::{Diagnostic, Object, Policy, Severity, Strictness};
pub use reference::ReferenceAuthorizer;
pub use snapshot::{Allowed, Decision, PolicySnapshot, WhoCan};
