//! The result of a parse: [`RequestInfo`].

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::selector::{FieldSelector, LabelSelector, SelectorError};

/// The scope whose bindings decide a request (KubeSphere's `ResourceScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceScope {
    /// Platform-wide objects: users, global roles, workspaces, clusters.
    Global,
    /// Cluster-scoped objects, or a cluster-wide view of namespaced ones.
    Cluster,
    /// Objects of one workspace.
    Workspace,
    /// Objects of one namespace.
    Namespace,
}

impl ResourceScope {
    /// The name KubeSphere uses: `Global`, `Cluster`, `Workspace`, `Namespace`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceScope::Global => "Global",
            ResourceScope::Cluster => "Cluster",
            ResourceScope::Workspace => "Workspace",
            ResourceScope::Namespace => "Namespace",
        }
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the four scope names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown resource scope {0:?} (expected Global, Cluster, Workspace or Namespace)")]
pub struct UnknownScope(pub String);

impl FromStr for ResourceScope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Global" => Ok(ResourceScope::Global),
            "Cluster" => Ok(ResourceScope::Cluster),
            "Workspace" => Ok(ResourceScope::Workspace),
            "Namespace" => Ok(ResourceScope::Namespace),
            other => Err(UnknownScope(other.to_owned())),
        }
    }
}

/// The path segments after the scoping prefixes: `resource/name/subresource/...`.
///
/// Stored as the joined string, a slice of the request path, so that the
/// common case allocates nothing; segments are never empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Parts<'a>(Cow<'a, str>);

impl<'a> Parts<'a> {
    pub(crate) fn new(joined: Cow<'a, str>) -> Self {
        Parts(joined)
    }

    /// The segments joined with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let s: &str = &self.0;
        s.split('/').filter(|seg| !seg.is_empty())
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        if self.0.is_empty() {
            0
        } else {
            self.0.bytes().filter(|&b| b == b'/').count() + 1
        }
    }

    /// Whether there are no segments.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The segment at `index`.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.iter().nth(index)
    }

    /// Detaches from the input.
    pub fn into_owned(self) -> Parts<'static> {
        Parts(Cow::Owned(self.0.into_owned()))
    }
}

/// What a request asks for, as Kubernetes' and KubeSphere's `RequestInfo`.
///
/// Strings borrow from the request target when nothing had to be decoded;
/// [`RequestInfo::into_owned`] detaches them. `RequestInfo<'static>` is the
/// owned form ([`OwnedRequestInfo`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo<'a> {
    /// Whether this is a request for an API resource (as opposed to `/healthz`,
    /// `/version`, discovery, ...).
    pub is_resource_request: bool,
    /// The percent-decoded path. For a `/clusters/{cluster}` request, the path
    /// behind the cluster prefix, as the member cluster sees it.
    pub path: Cow<'a, str>,
    /// The verb authorizers match. For resource requests: `get`, `list`,
    /// `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`,
    /// `proxy`, or empty for other methods. For non-resource requests: the
    /// HTTP method in lowercase (`get`, `post`, ...), as Kubernetes'
    /// `RequestInfoFactory` sets it; static for the usual methods.
    pub verb: Cow<'a, str>,
    /// `api`, `apis`, `kapis`, ... when the path has one.
    pub api_prefix: Cow<'a, str>,
    /// The API group; empty for the core group.
    pub api_group: Cow<'a, str>,
    /// The API version.
    pub api_version: Cow<'a, str>,
    /// The namespace, if any.
    pub namespace: Cow<'a, str>,
    /// The resource, e.g. `pods`.
    pub resource: Cow<'a, str>,
    /// The subresource, e.g. `status`.
    pub subresource: Cow<'a, str>,
    /// The object name; for a list or watch, taken from a
    /// `metadata.name=X` field selector when X is a valid path segment.
    pub name: Cow<'a, str>,
    /// The segments from the resource on.
    pub parts: Parts<'a>,
    /// The first `fieldSelector` value, for list, watch and deletecollection
    /// requests whose verb did not come from the path.
    pub field_selector: Cow<'a, str>,
    /// The first `labelSelector` value, under the same conditions.
    pub label_selector: Cow<'a, str>,
    /// The workspace, from a `workspaces/{ws}` or `workspacetemplates/{ws}`
    /// segment, or from a watch's `kubesphere.io/workspace=WS` label selector.
    pub workspace: Cow<'a, str>,
    /// The member cluster, from `/clusters/{cluster}/...` or the legacy
    /// `/{prefix}/clusters/{cluster}/...`.
    pub cluster: Cow<'a, str>,
    /// The scope whose bindings apply; `None` for non-resource requests.
    pub resource_scope: Option<ResourceScope>,
    /// Whether Kubernetes (rather than KubeSphere's own APIs) serves the
    /// request: the `api` and `apis` prefixes and their discovery paths.
    pub is_kubernetes_request: bool,
}

/// A [`RequestInfo`] that owns its strings.
pub type OwnedRequestInfo = RequestInfo<'static>;

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

impl RequestInfo<'_> {
    /// Detaches every string from the input.
    pub fn into_owned(self) -> OwnedRequestInfo {
        RequestInfo {
            is_resource_request: self.is_resource_request,
            path: own(self.path),
            verb: own(self.verb),
            api_prefix: own(self.api_prefix),
            api_group: own(self.api_group),
            api_version: own(self.api_version),
            namespace: own(self.namespace),
            resource: own(self.resource),
            subresource: own(self.subresource),
            name: own(self.name),
            parts: self.parts.into_owned(),
            field_selector: own(self.field_selector),
            label_selector: own(self.label_selector),
            workspace: own(self.workspace),
            cluster: own(self.cluster),
            resource_scope: self.resource_scope,
            is_kubernetes_request: self.is_kubernetes_request,
        }
    }

    /// The verb an authorizer should see: the resource verb, or for a
    /// non-resource request the lowercased method, as Kubernetes does.
    ///
    /// A parse already puts exactly this in [`RequestInfo::verb`]; this only
    /// differs for an info built by hand with an uppercase verb.
    #[deprecated(
        since = "0.1.0",
        note = "`verb` is now lowercase for non-resource requests too; use it directly"
    )]
    pub fn authorization_verb(&self) -> Cow<'_, str> {
        if self.is_resource_request || !self.verb.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Borrowed(&self.verb)
        } else {
            Cow::Owned(self.verb.to_ascii_lowercase())
        }
    }

    /// The label selector, parsed; `Ok(None)` when there is none.
    pub fn parsed_label_selector(&self) -> Result<Option<LabelSelector>, SelectorError> {
        if self.label_selector.is_empty() {
            return Ok(None);
        }
        LabelSelector::parse(&self.label_selector).map(Some)
    }

    /// The field selector, parsed; `Ok(None)` when there is none.
    pub fn parsed_field_selector(&self) -> Result<Option<FieldSelector>, SelectorError> {
        if self.field_selector.is_empty() {
            return Ok(None);
        }
        FieldSelector::parse(&self.field_selector).map(Some)
    }

    /// The first problem with the exposed selectors (label selector first),
    /// as Kubernetes reports it to authorizers. Allocates only on error.
    pub fn selector_error(&self) -> Option<SelectorError> {
        LabelSelector::validate(&self.label_selector)
            .and_then(|()| FieldSelector::validate(&self.field_selector))
            .err()
    }
}
