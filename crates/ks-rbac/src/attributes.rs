//! What is being asked: [`Attributes`] of a request, borrowed, and their
//! owned, wire form [`AttributesRecord`] (one line of `ks auth can-i --batch`).

use std::collections::BTreeMap;
use std::fmt;

use ks_request_info::{RequestInfo, ResourceScope};
use serde::{Deserialize, Serialize};

/// The groups of the requesting user, borrowed from whatever the caller
/// holds, so building [`Attributes`] never allocates.
#[derive(Clone, Copy, Debug)]
pub enum Groups<'a> {
    /// A slice of string slices.
    Strs(&'a [&'a str]),
    /// A slice of owned strings.
    Strings(&'a [String]),
}

impl Default for Groups<'_> {
    fn default() -> Self {
        Groups::Strs(&[])
    }
}

impl<'a> Groups<'a> {
    /// Number of groups.
    pub fn len(&self) -> usize {
        match self {
            Groups::Strs(g) => g.len(),
            Groups::Strings(g) => g.len(),
        }
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The group at `index`.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        match *self {
            Groups::Strs(g) => g.get(index).copied(),
            Groups::Strings(g) => g.get(index).map(String::as_str),
        }
    }

    /// The groups, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }

    /// Whether `group` is one of them (case-sensitive).
    pub fn contains(&self, group: &str) -> bool {
        self.iter().any(|g| g == group)
    }
}

impl<'a> From<&'a [&'a str]> for Groups<'a> {
    fn from(g: &'a [&'a str]) -> Self {
        Groups::Strs(g)
    }
}

impl<'a, const N: usize> From<&'a [&'a str; N]> for Groups<'a> {
    fn from(g: &'a [&'a str; N]) -> Self {
        Groups::Strs(g)
    }
}

impl<'a> From<&'a [String]> for Groups<'a> {
    fn from(g: &'a [String]) -> Self {
        Groups::Strings(g)
    }
}

impl<'a> From<&'a Vec<String>> for Groups<'a> {
    fn from(g: &'a Vec<String>) -> Self {
        Groups::Strings(g)
    }
}

/// The user's extra attributes: Kubernetes' `user.Info` Extra
/// (`map[string][]string`, e.g. token scopes or the node a service account
/// token was bound to), borrowed like [`Groups`], so building
/// [`Attributes`] never allocates. The default is empty and costs nothing.
///
/// RBAC never looks at them (neither does Kubernetes' RBAC authorizer);
/// they are carried for callers, audit and authorizers that do.
///
/// ```
/// use std::collections::BTreeMap;
/// use ks_rbac::{Attributes, Extra};
///
/// let scopes = [("scopes", &["view", "edit"][..])];
/// let attrs = Attributes { user: "alice", extra: Extra::Strs(&scopes), ..Attributes::default() };
/// assert_eq!(attrs.extra.get("scopes").unwrap().get(1), Some("edit"));
///
/// // What a TokenReview's `UserInfo` or an `AttributesRecord` holds.
/// let owned = BTreeMap::from([("scopes".to_owned(), vec!["view".to_owned()])]);
/// let attrs = Attributes { extra: Extra::Map(&owned), ..attrs };
/// assert_eq!(attrs.extra.iter().count(), 1);
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Extra<'a> {
    /// Pairs of a key and its values, in the caller's order. Keys should be
    /// unique; [`Extra::get`] takes the first.
    Strs(&'a [(&'a str, &'a [&'a str])]),
    /// A map of owned strings, as [`AttributesRecord`] (and k8s-openapi's
    /// `UserInfo` and `SubjectAccessReviewSpec`) hold it.
    Map(&'a BTreeMap<String, Vec<String>>),
}

impl Default for Extra<'_> {
    fn default() -> Self {
        Extra::Strs(&[])
    }
}

impl<'a> Extra<'a> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        match self {
            Extra::Strs(e) => e.len(),
            Extra::Map(e) => e.len(),
        }
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of `key` (case-sensitive), if it is present.
    pub fn get(&self, key: &str) -> Option<ExtraValues<'a>> {
        match *self {
            Extra::Strs(e) => e
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| ExtraValues::Strs(v)),
            Extra::Map(e) => e.get(key).map(|v| ExtraValues::Strings(v)),
        }
    }

    /// The keys and their values: in the caller's order for
    /// [`Extra::Strs`], in key order for [`Extra::Map`].
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, ExtraValues<'a>)> + 'a {
        let (strs, map) = match *self {
            Extra::Strs(e) => (e, None),
            Extra::Map(e) => (&[][..], Some(e)),
        };
        let strs = strs.iter().map(|(k, v)| (*k, ExtraValues::Strs(v)));
        let map = map
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), ExtraValues::Strings(v)));
        strs.chain(map)
    }
}

impl<'a> From<&'a [(&'a str, &'a [&'a str])]> for Extra<'a> {
    fn from(e: &'a [(&'a str, &'a [&'a str])]) -> Self {
        Extra::Strs(e)
    }
}

impl<'a, const N: usize> From<&'a [(&'a str, &'a [&'a str]); N]> for Extra<'a> {
    fn from(e: &'a [(&'a str, &'a [&'a str]); N]) -> Self {
        Extra::Strs(e)
    }
}

impl<'a> From<&'a BTreeMap<String, Vec<String>>> for Extra<'a> {
    fn from(e: &'a BTreeMap<String, Vec<String>>) -> Self {
        Extra::Map(e)
    }
}

/// The values of one [`Extra`] key, borrowed.
#[derive(Clone, Copy, Debug)]
pub enum ExtraValues<'a> {
    /// A slice of string slices.
    Strs(&'a [&'a str]),
    /// A slice of owned strings.
    Strings(&'a [String]),
}

impl<'a> ExtraValues<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ExtraValues::Strs(v) => v.len(),
            ExtraValues::Strings(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        match *self {
            ExtraValues::Strs(v) => v.get(index).copied(),
            ExtraValues::Strings(v) => v.get(index).map(String::as_str),
        }
    }

    /// The values, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }
}

/// The attributes of one request that authorization looks at (Kubernetes'
/// `authorizer.Attributes`, extended by KubeSphere with workspace, cluster
/// and resource scope). Everything is borrowed; building one allocates
/// nothing.
///
/// Empty strings mean "not set". The `cluster` is carried for callers and
/// reasons, but one policy describes one cluster, so it does not change a
/// decision.
#[derive(Clone, Copy, Debug, Default)]
pub struct Attributes<'a> {
    /// The user's name (a service account is `system:serviceaccount:NS:NAME`).
    pub user: &'a str,
    /// The user's groups.
    pub groups: Groups<'a>,
    /// The user's extra attributes; they never change an RBAC decision.
    pub extra: Extra<'a>,
    /// The verb (`get`, `list`, ... or, for non-resource requests, what the
    /// request info holds).
    pub verb: &'a str,
    /// API group of the resource (empty for the core group).
    pub api_group: &'a str,
    /// Resource, e.g. `pods`.
    pub resource: &'a str,
    /// Subresource, e.g. `log`.
    pub subresource: &'a str,
    /// Name of the object.
    pub name: &'a str,
    /// Namespace of the object.
    pub namespace: &'a str,
    /// Workspace of the object.
    pub workspace: &'a str,
    /// Member cluster the request is for.
    pub cluster: &'a str,
    /// The scope whose bindings apply. `None` (a non-resource request)
    /// walks the scopes as `Cluster` does, like KubeSphere's empty scope.
    pub resource_scope: Option<ResourceScope>,
    /// Whether this is a resource request (else a non-resource URL).
    pub is_resource_request: bool,
    /// The URL path (what non-resource rules match).
    pub path: &'a str,
}

impl<'a> Attributes<'a> {
    /// Attributes of a parsed request for `user` with `groups` and no
    /// [`Extra`] (add them with `Attributes { extra, ..attrs }`).
    ///
    /// The verb is the request info's, which is already what rules match:
    /// the resource verb, or for a non-resource request the HTTP method in
    /// lowercase (`GET /healthz` asks for `get` on `/healthz`), as
    /// Kubernetes does. Matching itself stays case-sensitive.
    pub fn from_request_info(
        info: &'a RequestInfo<'_>,
        user: &'a str,
        groups: impl Into<Groups<'a>>,
    ) -> Self {
        Attributes {
            user,
            groups: groups.into(),
            extra: Extra::default(),
            verb: &info.verb,
            api_group: &info.api_group,
            resource: &info.resource,
            subresource: &info.subresource,
            name: &info.name,
            namespace: &info.namespace,
            workspace: &info.workspace,
            cluster: &info.cluster,
            resource_scope: info.resource_scope,
            is_resource_request: info.is_resource_request,
            path: &info.path,
        }
    }

    /// The scope the authorizers walk: the resource scope, with `None`
    /// walked as `Cluster` (global bindings, then cluster role bindings).
    pub fn effective_scope(&self) -> ResourceScope {
        self.resource_scope.unwrap_or(ResourceScope::Cluster)
    }

    /// A phrase describing the request for reasons, as KubeSphere logs
    /// denials: `"get" resource "pods.apps/log" named "x"` or
    /// `"get" nonResourceURL "/healthz"`.
    pub fn describe_operation(&self) -> OperationDisplay<'_, 'a> {
        OperationDisplay(self)
    }
}

/// [`Attributes::describe_operation`].
#[derive(Debug)]
pub struct OperationDisplay<'b, 'a>(&'b Attributes<'a>);

impl fmt::Display for OperationDisplay<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        if a.is_resource_request {
            write!(f, "{:?} resource \"{}", a.verb, Escaped(a.resource))?;
            if !a.api_group.is_empty() {
                write!(f, ".{}", Escaped(a.api_group))?;
            }
            if !a.subresource.is_empty() {
                write!(f, "/{}", Escaped(a.subresource))?;
            }
            f.write_str("\"")?;
            if !a.name.is_empty() {
                write!(f, " named {:?}", a.name)?;
            }
        } else {
            write!(f, "{:?} nonResourceURL {:?}", a.verb, a.path)?;
        }
        match a.resource_scope {
            Some(ResourceScope::Namespace) => write!(f, " in namespace {:?}", a.namespace),
            Some(ResourceScope::Workspace) => write!(f, " in workspace {:?}", a.workspace),
            Some(ResourceScope::Global) => f.write_str(" global-wide"),
            Some(ResourceScope::Cluster) | None => f.write_str(" cluster-wide"),
        }
    }
}

/// The inside of a `{:?}`-quoted string, without the quotes.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            write!(f, "{}", c.escape_debug())?;
        }
        Ok(())
    }
}

/// The owned, wire form of [`Attributes`]: one JSON object of
/// `ks auth can-i --batch`. Absent fields are empty (or `false`); an absent
/// `resourceScope` is derived as the contract says: namespace set ->
/// `Namespace`, else workspace set -> `Workspace`, else `Cluster`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttributesRecord {
    /// The user's name.
    pub user: String,
    /// The user's groups.
    pub groups: Vec<String>,
    /// The user's extra attributes (key to values); carried, never matched.
    /// A key must map to a list of strings.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
    /// The verb.
    pub verb: String,
    /// API group.
    pub api_group: String,
    /// Resource.
    pub resource: String,
    /// Subresource.
    pub subresource: String,
    /// Object name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Workspace.
    pub workspace: String,
    /// Member cluster.
    pub cluster: String,
    /// `Global`, `Cluster`, `Workspace` or `Namespace`; derived when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_scope: Option<String>,
    /// Whether it is a resource request.
    pub is_resource_request: bool,
    /// URL path.
    pub path: String,
}

impl AttributesRecord {
    /// The resource scope: the given one, or the derived one when absent or
    /// empty. An unknown scope name is an error.
    pub fn scope(&self) -> Result<ResourceScope, crate::Error> {
        match self.resource_scope.as_deref() {
            Some(s) if !s.is_empty() => s
                .parse()
                .map_err(|e: ks_request_info::UnknownScope| crate::Error::UnknownScope(e.0)),
            _ if !self.namespace.is_empty() => Ok(ResourceScope::Namespace),
            _ if !self.workspace.is_empty() => Ok(ResourceScope::Workspace),
            _ => Ok(ResourceScope::Cluster),
        }
    }

    /// Borrows these as [`Attributes`].
    pub fn as_attributes(&self) -> Result<Attributes<'_>, crate::Error> {
        Ok(Attributes {
            user: &self.user,
            groups: Groups::Strings(&self.groups),
            extra: Extra::Map(&self.extra),
            verb: &self.verb,
            api_group: &self.api_group,
            resource: &self.resource,
            subresource: &self.subresource,
            name: &self.name,
            namespace: &self.namespace,
            workspace: &self.workspace,
            cluster: &self.cluster,
            resource_scope: Some(self.scope()?),
            is_resource_request: self.is_resource_request,
            path: &self.path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_derives_scope() {
        let r: AttributesRecord = serde_json::from_str(r#"{"user":"u","namespace":"n"}"#).unwrap();
        assert_eq!(r.scope().unwrap(), ResourceScope::Namespace);
        let r: AttributesRecord = serde_json::from_str(r#"{"workspace":"w"}"#).unwrap();
        assert_eq!(r.scope().unwrap(), ResourceScope::Workspace);
        let r: AttributesRecord = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(r.scope().unwrap(), ResourceScope::Cluster);
        let r: AttributesRecord =
            serde_json::from_str(r#"{"namespace":"n","resourceScope":"Global"}"#).unwrap();
        assert_eq!(r.scope().unwrap(), ResourceScope::Global);
        let r: AttributesRecord = serde_json::from_str(r#"{"resourceScope":"global"}"#).unwrap();
        assert!(r.scope().is_err());
    }

    #[test]
    fn record_reads_extra() {
        let r: AttributesRecord = serde_json::from_str(
            r#"{"user":"u","extra":{"scopes":["a","b"],"authentication.kubernetes.io/pod-name":[],"k":[""]}}"#,
        )
        .unwrap();
        let a = r.as_attributes().unwrap();
        assert_eq!(a.extra.len(), 3);
        let scopes = a.extra.get("scopes").unwrap();
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(
            a.extra
                .get("authentication.kubernetes.io/pod-name")
                .unwrap()
                .is_empty()
        );
        assert_eq!(a.extra.get("k").unwrap().get(0), Some(""));
        assert!(a.extra.get("Scopes").is_none());
        // Absent is empty, and an empty map is not written back.
        let r: AttributesRecord = serde_json::from_str(r#"{"user":"u"}"#).unwrap();
        assert!(r.extra.is_empty() && r.as_attributes().unwrap().extra.is_empty());
        assert!(!serde_json::to_string(&r).unwrap().contains("extra"));
        // A key maps to a list of strings, nothing else.
        for bad in [
            r#"{"extra":{"k":"notalist"}}"#,
            r#"{"extra":{"k":[1]}}"#,
            r#"{"extra":{"k":null}}"#,
            r#"{"extra":["k","v"]}"#,
            r#"{"extra":"k=v"}"#,
            r#"{"extra":null}"#,
        ] {
            let e = serde_json::from_str::<AttributesRecord>(bad).unwrap_err();
            assert!(e.is_data(), "{bad}: {e}");
        }
    }

    #[test]
    fn extra_borrows_either_form() {
        assert!(Extra::default().is_empty());
        assert_eq!(Extra::default().iter().count(), 0);
        let pairs = [("scopes", &["a", "b"][..]), ("empty", &[][..])];
        let strs = Extra::from(&pairs);
        let map: BTreeMap<String, Vec<String>> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        let owned = Extra::from(&map);
        for extra in [strs, owned] {
            assert_eq!(extra.len(), 2);
            assert_eq!(extra.get("scopes").unwrap().len(), 2);
            assert_eq!(extra.get("scopes").unwrap().get(1), Some("b"));
            assert!(extra.get("empty").unwrap().is_empty());
            assert!(extra.get("missing").is_none());
        }
        let keys: Vec<&str> = strs.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["scopes", "empty"]); // the caller's order
        let keys: Vec<&str> = owned.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["empty", "scopes"]); // key order
    }

    #[test]
    fn from_request_info() {
        let resolver = ks_request_info::Resolver::default();
        let info = resolver
            .parse("GET", "/api/v1/namespaces/ns1/pods/p1/log")
            .unwrap();
        let groups = vec!["g".to_owned()];
        let a = Attributes::from_request_info(&info, "alice", &groups);
        assert_eq!(
            (a.verb, a.resource, a.subresource, a.name, a.namespace),
            ("get", "pods", "log", "p1", "ns1")
        );
        assert_eq!(a.resource_scope, Some(ResourceScope::Namespace));
        assert!(a.groups.contains("g"));
        assert!(a.extra.is_empty());
        assert_eq!(
            a.describe_operation().to_string(),
            r#""get" resource "pods/log" named "p1" in namespace "ns1""#
        );
    }
}
