//! Turn an HTTP request into a [`RequestInfo`], exactly as kube-apiserver
//! and ks-apiserver do.
//!
//! Authorization is only as right as this parse, and it runs on every
//! request, so it is exact and cheap: the semantics are those of Kubernetes'
//! `RequestInfoFactory` (k8s.io/apiserver `pkg/endpoints/request`) as
//! extended by KubeSphere (`pkg/apiserver/request`): member clusters,
//! workspaces and resource scopes. The parse borrows from the request and
//! allocates nothing unless something had to be percent-decoded.
//!
//! ```
//! use ks_request_info::{Resolver, ResourceScope};
//!
//! let resolver = Resolver::default(); // KubeSphere's prefixes and global resources
//! let info = resolver
//!     .parse("GET", "/clusters/host/kapis/iam.kubesphere.io/v1beta1/workspaces/ws1/workspacemembers")
//!     .unwrap();
//! assert_eq!(info.verb, "list");
//! assert_eq!(info.cluster, "host");
//! assert_eq!(info.workspace, "ws1");
//! assert_eq!(info.resource, "workspacemembers");
//! assert_eq!(info.resource_scope, Some(ResourceScope::Workspace));
//! assert!(!info.is_kubernetes_request);
//!
//! // Works on `http` types too.
//! let req = http::Request::get("/api/v1/namespaces/default/pods?watch=1").body(()).unwrap();
//! let info = resolver.parse_request(&req).unwrap();
//! assert_eq!((&*info.verb, &*info.namespace), ("watch", "default"));
//! ```
//!
//! # What is parsed
//!
//! ```text
//! [/clusters/{cluster}]/{prefix}[/clusters/{cluster}]/[{group}/]{version}
//!     [/watch|/proxy][/workspaces/{ws}|/workspacetemplates/{ws}]
//!     [/namespaces/{namespace}]/{resource}[/{name}[/{subresource}[/...]]]
//! ```
//!
//! - API prefixes (`api`, `apis`, `kapis`, `kapi`) and the groupless ones
//!   (`api`, `kapi`) are configurable ([`ResolverConfig`]). A path with fewer
//!   than three segments, or not under an API prefix, is a non-resource
//!   request whose verb is the HTTP method in lowercase (`get`, `post`), as
//!   Kubernetes sets it and authorizers match it.
//! - Methods map to verbs: POST create, GET and HEAD get, PUT update, PATCH
//!   patch, DELETE delete, anything else the empty verb. A get without a name
//!   is `list`, or `watch` when the `watch` query value is anything but
//!   `false` or `0`; a delete without a name is `deletecollection`.
//! - `fieldSelector=metadata.name=X` names the object of a list or watch when
//!   X is a valid path segment. Selectors are exposed for list, watch and
//!   deletecollection, unless the verb came from the path. An invalid one
//!   does not fail the parse (Kubernetes still resolves the verb; the list
//!   handler answers 400 later): [`RequestInfo::selector_error`] reports it
//!   in Kubernetes' words.
//! - KubeSphere: the member cluster from `/clusters/{c}/...` (the path then
//!   holds what the member sees) or the legacy `/{prefix}/clusters/{c}/...`;
//!   the workspace from `workspaces/{ws}` or `workspacetemplates/{ws}` or a
//!   watch's `labelSelector=kubesphere.io/workspace=WS`; and the
//!   [`ResourceScope`] whose bindings apply.
//!
//! # Where we are stricter than Go
//!
//! The Go parsers split the decoded path after trimming slashes, so
//! `/api/v1/namespaces//pods` is a cluster-wide pod list, `%2F` adds
//! segments, and `/clusters/c/api/v1` panics. Here a target is either
//! unambiguous or rejected with an [`Error`] (a 400): see the [`target`]
//! rules module for the list. The cluster forms follow one rule, "parse the
//! rest as if it were the whole path", and naming a cluster twice is an
//! error. Nothing panics, on any input.
//!
//! The rules, case by case, are in `docs/request-info.md` at the root of the
//! repository; the JSON form of a [`RequestInfo`] that `ks request-info`
//! prints, a contract other tools rely on, is in `docs/cli-contract.md`.
//!
//! # Modules
//!
//! - [`selector`]: Kubernetes label and field selectors (parse, validate,
//!   match).
//! - [`target`]: the request-target rules and size limits.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod info;
mod resolver;
mod scan;
mod segments;
pub mod selector;
pub mod target;

#[doc(hidden)]
pub mod fuzzing;

pub use error::{Error, TargetPart};
pub use info::{OwnedRequestInfo, Parts, RequestInfo, ResourceScope, UnknownScope};
pub use resolver::{
    GroupResource, ParseFailure, ParseResult, Resolver, ResolverConfig, WORKSPACE_LABEL,
};
pub use selector::SelectorError;
pub use target::Limits;
