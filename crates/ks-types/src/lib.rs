//! KubeSphere's custom resources as wire-compatible Rust types.
//!
//! ks-types defines the `iam.kubesphere.io`, `tenant.kubesphere.io` and
//! `cluster.kubesphere.io` kinds of KubeSphere (users, global and workspace
//! roles and bindings, groups, login records, workspaces, workspace
//! templates, clusters). They serialize exactly as KubeSphere's Go API does
//! (field names, omitted empties, top-level `rules`/`subjects`/`roleRef`),
//! implement kube's [`Resource`](kube_core::Resource) so `kube::Api<T>`
//! works with them, and come with their CRD manifests, validation and
//! KubeSphere's built-in roles.
//!
//! It is a pure crate: no I/O, no async, no global state; it builds for
//! `wasm32-unknown-unknown`.
//!
//! ```
//! use ks_types::{decode, validation::Validate, User, UserState};
//!
//! let yaml = br#"
//! apiVersion: iam.kubesphere.io/v1alpha2
//! kind: User
//! metadata:
//!   name: admin
//! spec:
//!   email: admin@kubesphere.io
//!   lang: zh
//! status:
//!   state: Active
//! "#;
//! let user: User = decode::from_yaml(yaml)?;
//! assert_eq!(user.status.state, Some(UserState::Active));
//! assert!(user.validate().is_empty());
//!
//! let json = decode::to_json(&user)?;
//! assert!(json.starts_with(r#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"User""#));
//! # Ok::<(), ks_types::Error>(())
//! ```
//!
//! Modules:
//! - [`iam`], [`tenant`], [`cluster`]: the kinds, by API group;
//! - [`resource`]: [`KindInfo`] (group, version, kind, plural, scope),
//!   [`List`], and the `apiVersion`/`kind` wire handling;
//! - [`meta`]: well-known labels, annotations and finalizers;
//! - [`decode`]: JSON/YAML decoding (tolerant or strict) with field paths
//!   in errors, and encoding;
//! - [`validation`]: every field error of an object, with its path;
//! - [`builtin`]: KubeSphere's built-in roles and role templates;
//! - [`crd`]: CustomResourceDefinitions with structural schemas;
//! - [`error`]: the crate's [`Error`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod open_enum;

pub mod builtin;
pub mod cluster;
pub mod crd;
pub mod decode;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod iam;
pub mod meta;
pub mod resource;
pub mod tenant;
pub mod validation;

pub use cluster::{Cluster, ClusterList};
pub use error::Error;
pub use iam::{
    GlobalRole, GlobalRoleBinding, GlobalRoleBindingList, GlobalRoleList, Group, GroupBinding,
    GroupBindingList, GroupList, LoginRecord, LoginRecordList, LoginType, User, UserList, UserSpec,
    UserState, UserStatus, WorkspaceRole, WorkspaceRoleBinding, WorkspaceRoleBindingList,
    WorkspaceRoleList,
};
pub use resource::{KindInfo, List, Scope};
pub use tenant::{Workspace, WorkspaceList, WorkspaceTemplate, WorkspaceTemplateList};
pub use validation::{FieldError, FieldErrors, Validate};
