//! The resource registry: which group/version/resources the server serves.
//!
//! Built-in kinds are compiled in (one [`Strategy`] each, see
//! [`crate::kinds`]); custom resources come from
//! CustomResourceDefinition objects in the store, so creating a CRD starts
//! serving its resource and deleting it stops. KubeSphere's own kinds are
//! served the same way, from the CRDs that bootstrap installs.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::kinds::{StoredAs, Strategy};
use crate::selectable::SelectableFields;

/// An additional printer column (`kubectl get` output).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Column header.
    pub name: String,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// OpenAPI format, may be empty.
    pub format: String,
    /// Column description.
    pub description: String,
    /// 0 for the default view, higher for `-o wide`.
    pub priority: i32,
    /// Simple JSONPath into the object (`.spec.x`), without braces.
    pub json_path: String,
}

/// One served resource at one version.
#[derive(Clone, Debug)]
pub struct ResourceDef {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural resource name (the URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Kind of the list.
    pub list_kind: String,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// Short names for kubectl.
    pub short_names: Vec<String>,
    /// Categories (`kubectl get all`-style groups).
    pub categories: Vec<String>,
    /// Whether the `status` subresource is served.
    pub status: bool,
    /// Printer columns after NAME (and before AGE when none is a date).
    pub columns: Vec<Column>,
    /// The object's OpenAPI v3 schema, if known.
    pub schema: Option<Arc<Value>>,
    /// Everything kind-specific: defaults, validation, table columns,
    /// patch strategy, wire forms.
    pub strategy: Arc<dyn Strategy>,
    /// The CustomResourceDefinition that defines it; `None` for a
    /// compiled-in kind.
    pub crd: Option<String>,
    /// Whether this version is the storage version (the one objects are
    /// stored in; CRDs list exactly one). False for a resource stored as
    /// another.
    pub storage: bool,
    /// Set when the objects live in another resource's storage, in its
    /// form (events.k8s.io/v1 events are stored as core/v1 events).
    pub stored_as: Option<StoredAs>,
    /// What a field selector may name, and where the values are stored
    /// (from [`Strategy::selectable_fields`]).
    pub selectable: SelectableFields,
}

impl ResourceDef {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether this is `group`'s resource `plural` (at any version).
    pub fn is(&self, group: &str, plural: &str) -> bool {
        self.group == group && self.plural == plural
    }

    /// The definition of a compiled-in kind, from its strategy.
    pub fn of(strategy: Arc<dyn Strategy>) -> ResourceDef {
        let names = strategy.names();
        let schema = crate::openapi::builtin_schema(&names.group, &names.kind);
        let stored_as = strategy.stored_as();
        let selectable = strategy.selectable_fields();
        ResourceDef {
            list_kind: format!("{}List", names.kind),
            group: names.group,
            version: names.version,
            plural: names.plural,
            singular: names.singular,
            kind: names.kind,
            namespaced: names.namespaced,
            short_names: names.short_names,
            categories: names.categories,
            status: names.status,
            columns: Vec::new(),
            schema: schema.map(Arc::new),
            strategy,
            crd: None,
            storage: stored_as.is_none(),
            stored_as,
            selectable,
        }
    }

    /// The store key prefix of all objects of this resource (every version
    /// shares one storage location: `/{group or "core"}/{plural}/`, the
    /// other resource's for one [stored as another](StoredAs)).
    pub fn key_prefix(&self) -> String {
        let (group, plural) = match &self.stored_as {
            Some(stored) => (stored.group, stored.plural),
            None => (self.group.as_str(), self.plural.as_str()),
        };
        let group = if group.is_empty() { "core" } else { group };
        format!("/{group}/{plural}/")
    }

    /// Whether `api_version` (`v1`, `group/version`) is this resource's.
    pub fn is_api_version(&self, api_version: &str) -> bool {
        match api_version.rsplit_once('/') {
            Some((group, version)) => group == self.group && version == self.version,
            None => self.group.is_empty() && api_version == self.version,
        }
    }

    /// A stored object as this resource serves it: converted from the
    /// other resource's form when [stored as another](StoredAs), and with
    /// this resource's `apiVersion` (custom resources convert between
    /// versions with strategy None). An object already at this version is
    /// returned as is.
    pub fn served(&self, mut obj: Value) -> Value {
        let Some(map) = obj.as_object_mut() else {
            return obj;
        };
        if map
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| self.is_api_version(v))
        {
            return obj;
        }
        if let Some(stored) = &self.stored_as {
            (stored.from_storage)(map);
            map.insert("kind".into(), Value::String(self.kind.clone()));
        }
        map.insert("apiVersion".into(), Value::String(self.api_version()));
        obj
    }

    /// An object of this resource (as served) in the form it is stored
    /// in: the other resource's when [stored as another](StoredAs), else
    /// unchanged.
    pub fn stored(&self, mut obj: Value) -> Value {
        if let Some(stored) = &self.stored_as
            && let Some(map) = obj.as_object_mut()
        {
            (stored.to_storage)(map);
            map.insert(
                "apiVersion".into(),
                Value::String(stored.api_version.into()),
            );
            map.insert("kind".into(), Value::String(stored.kind.into()));
        }
        obj
    }

    /// The store key prefix of this resource in one namespace, or of every
    /// object when `namespace` is `None` (or the resource is cluster-scoped).
    pub fn prefix_in(&self, namespace: Option<&str>) -> String {
        let mut key = self.key_prefix();
        if self.namespaced
            && let Some(ns) = namespace
        {
            key.push_str(ns);
            key.push('/');
        }
        key
    }

    /// The store key of one object.
    pub fn key(&self, namespace: &str, name: &str) -> String {
        let mut key = self.key_prefix();
        if self.namespaced {
            key.push_str(namespace);
            key.push('/');
        }
        key.push_str(name);
        key
    }
}

/// Every served resource, by group, version and plural; swapped as a whole
/// when CRDs change so readers take a consistent view without locking for
/// long.
#[derive(Debug, Default)]
pub struct Registry {
    current: RwLock<Arc<RegistryView>>,
}

/// An immutable view of the registry.
#[derive(Debug, Default, Clone)]
pub struct RegistryView {
    /// By (group, version, plural).
    by_gvr: BTreeMap<(String, String, String), Arc<ResourceDef>>,
}

impl RegistryView {
    /// The resource at a group, version and plural.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceDef>> {
        self.by_gvr
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    /// Every resource, ordered by group, version, plural.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.by_gvr.values()
    }

    /// Resources of one group and version.
    pub fn group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ResourceDef>> + 'a {
        self.by_gvr
            .values()
            .filter(move |d| d.group == group && d.version == version)
    }

    /// The groups served, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for def in self.by_gvr.values() {
            let versions = groups.entry(&def.group).or_default();
            if !versions.contains(&def.version) {
                versions.push(def.version.clone());
            }
        }
        let mut out: Vec<(String, Vec<String>)> = groups
            .into_iter()
            .map(|(g, mut versions)| {
                versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
                (g.to_owned(), versions)
            })
            .collect();
        // Core first, then built-in groups, then the rest alphabetically.
        out.sort_by_key(|(g, _)| (!g.is_empty(), !g.ends_with(".k8s.io"), g.clone()));
        out
    }

    /// The storage-version definition of a group and plural (any version).
    pub fn storage_def(&self, group: &str, plural: &str) -> Option<&Arc<ResourceDef>> {
        let mut fallback = None;
        for def in self.by_gvr.values() {
            if def.group == group && def.plural == plural {
                if def.storage {
                    return Some(def);
                }
                fallback.get_or_insert(def);
            }
        }
        fallback
    }

    /// The resource serving `apiVersion` (`v1`, `group/version`) and kind.
    pub fn by_api_version_kind(&self, api_version: &str, kind: &str) -> Option<&Arc<ResourceDef>> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.by_gvr
            .values()
            .find(|d| d.group == group && d.version == version && d.kind == kind)
    }

    /// Finds a resource by group and kind (any version, storage first).
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&Arc<ResourceDef>> {
        let mut fallback = None;
        for def in self.by_gvr.values() {
            if def.group == group && def.kind == kind {
                if def.storage {
                    return Some(def);
                }
                fallback.get_or_insert(def);
            }
        }
        fallback
    }
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first.
pub fn version_priority(version: &str) -> (u8, u32, u32) {
    let Some(rest) = version.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let Ok(major) = rest[..digits_end].parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits_end..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (stability, minor) = if let Some(n) = tail.strip_prefix("beta") {
        (2, n)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n)
    } else {
        return (0, 0, 0);
    };
    match minor.parse::<u32>() {
        Ok(minor) => (stability, major, minor),
        Err(_) => (0, 0, 0),
    }
}

impl Registry {
    /// A registry serving the built-in kinds.
    pub fn with_builtins() -> Self {
        Self::new(crate::kinds::builtins())
    }

    /// A registry serving these compiled-in kinds (and, later, CRDs).
    pub fn new(kinds: Vec<Arc<dyn Strategy>>) -> Self {
        let mut view = RegistryView::default();
        for strategy in kinds {
            let def = ResourceDef::of(strategy);
            view.by_gvr.insert(
                (def.group.clone(), def.version.clone(), def.plural.clone()),
                Arc::new(def),
            );
        }
        Registry {
            current: RwLock::new(Arc::new(view)),
        }
    }

    /// The current view.
    pub fn view(&self) -> Arc<RegistryView> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Serves exactly the resources of `crds` (CRD name, its definitions)
    /// beside the built-in ones. A CRD cannot shadow a built-in resource,
    /// and of two CRDs claiming one resource the first (by name) wins.
    pub fn set_all_crds(&self, crds: Vec<(String, Vec<ResourceDef>)>) {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut view = RegistryView::clone(&guard);
        view.by_gvr.retain(|_, d| d.crd.is_none());
        for (_, defs) in crds {
            for def in defs {
                let key = (def.group.clone(), def.version.clone(), def.plural.clone());
                view.by_gvr.entry(key).or_insert_with(|| Arc::new(def));
            }
        }
        *guard = Arc::new(view);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_priority_orders_like_kubernetes() {
        let mut v = vec![
            "v1alpha1",
            "v1",
            "v2beta1",
            "v1beta2",
            "v2",
            "v11alpha2",
            "foo",
            "v1beta1",
        ];
        v.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(
            v,
            [
                "v2",
                "v1",
                "v2beta1",
                "v1beta2",
                "v1beta1",
                "v11alpha2",
                "v1alpha1",
                "foo"
            ]
        );
    }

    #[test]
    fn keys_separate_namespaces_and_groups() {
        let cm = ResourceDef::of(Arc::new(crate::kinds::configmap::ConfigMaps));
        assert_eq!(cm.key("default", "a"), "/core/configmaps/default/a");
        assert_eq!(cm.prefix_in(Some("default")), "/core/configmaps/default/");
        assert_eq!(cm.prefix_in(None), "/core/configmaps/");
        let ns = ResourceDef::of(Arc::new(crate::kinds::namespace::Namespaces));
        assert_eq!(ns.key("ignored", "a"), "/core/namespaces/a");
        let crb = ResourceDef::of(Arc::new(crate::kinds::rbac::ClusterRoleBindings::new()));
        assert_eq!(
            crb.key("", "x"),
            "/rbac.authorization.k8s.io/clusterrolebindings/x"
        );
    }
}
