//! In-memory views of the collections the /kapis lists read most (users,
//! namespaces, workspace templates, workspaces), kept current from the
//! store's watch, so that a list costs a scan of parsed metadata and not
//! a decode of every stored object.
//!
//! Each [`Entry`] keeps an object's served JSON as bytes, and the metadata
//! the common query reads (name, namespace, uid, creation time parsed
//! once, labels, annotations, owners). A list filters and sorts entries
//! under a read lock (no `await` inside), then writes the page's bytes as
//! they are, so a page of 10 out of 100,000 users copies 10 objects.
//! Writers (the informers) hold the write lock for one map update.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;
use jiff::Timestamp;
use ks_kube_api::App;
use ks_kube_api::resources::ResourceDef;
use ks_store::{KeyValue, Storage, StoreError};
use serde::Deserialize;

use super::query::{ObjectView, OwnerRef};
use crate::informer::{Change, Informer};

/// One object: its served JSON and the metadata lists read.
#[derive(Debug)]
pub struct Entry {
    raw: Bytes,
    name: Box<str>,
    namespace: Box<str>,
    uid: Box<str>,
    created: Option<Timestamp>,
    labels: Box<[(Box<str>, Box<str>)]>,
    annotations: Box<[(Box<str>, Box<str>)]>,
    owners: Box<[(Box<str>, Box<str>)]>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    metadata: MetaHead,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaHead {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    uid: String,
    #[serde(default)]
    creation_timestamp: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    owner_references: Vec<OwnerHead>,
}

#[derive(Deserialize)]
struct OwnerHead {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    uid: String,
}

fn boxed(map: BTreeMap<String, String>) -> Box<[(Box<str>, Box<str>)]> {
    map.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

impl Entry {
    /// The entry of a stored object as `def` serves it; `None` when it
    /// does not decode.
    pub fn from_stored(def: &ResourceDef, stored: &Bytes) -> Option<Entry> {
        let head: Head = serde_json::from_slice(stored).ok()?;
        let raw = if def.is_api_version(&head.api_version) {
            stored.clone()
        } else {
            let full = serde_json::from_slice(stored).ok()?;
            Bytes::from(serde_json::to_vec(&def.served(full)).ok()?)
        };
        let meta = head.metadata;
        Some(Entry {
            raw,
            name: meta.name.into(),
            namespace: meta.namespace.into(),
            uid: meta.uid.into(),
            created: meta.creation_timestamp.and_then(|t| t.parse().ok()),
            labels: boxed(meta.labels),
            annotations: boxed(meta.annotations),
            owners: (meta.owner_references.into_iter())
                .map(|o| (o.kind.into(), o.uid.into()))
                .collect(),
        })
    }

    /// The object's served JSON.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The object, decoded.
    pub fn decode(&self) -> serde_json::Value {
        serde_json::from_slice(&self.raw).unwrap_or(serde_json::Value::Null)
    }
}

fn lookup<'a>(pairs: &'a [(Box<str>, Box<str>)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
}

impl ObjectView for Entry {
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn uid(&self) -> &str {
        &self.uid
    }
    fn creation_timestamp(&self) -> Option<Timestamp> {
        self.created
    }
    fn label(&self, key: &str) -> Option<&str> {
        lookup(&self.labels, key)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        lookup(&self.annotations, key)
    }
    fn owner_references(&self) -> impl Iterator<Item = OwnerRef<'_>> {
        self.owners.iter().map(|(kind, uid)| OwnerRef { uid, kind })
    }
}

/// The entries of one resource, by store key.
#[derive(Debug, Default)]
pub struct Collection {
    entries: RwLock<BTreeMap<Arc<str>, Arc<Entry>>>,
}

impl Collection {
    fn apply(&self, def: &ResourceDef, change: Change) {
        let entry = |kv: &KeyValue| {
            let entry = Entry::from_stored(def, &kv.value);
            if entry.is_none() {
                tracing::warn!(key = %kv.key, "a stored object does not decode; /kapis lists leave it out");
            }
            entry.map(Arc::new)
        };
        match change {
            Change::Reset(items) => {
                let fresh: BTreeMap<Arc<str>, Arc<Entry>> = (items.iter())
                    .filter_map(|kv| entry(kv).map(|e| (Arc::clone(&kv.key), e)))
                    .collect();
                *self.entries.write().unwrap_or_else(PoisonError::into_inner) = fresh;
            }
            Change::Put(kv) => {
                let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
                match entry(&kv) {
                    Some(e) => entries.insert(Arc::clone(&kv.key), e),
                    None => entries.remove(&kv.key),
                };
            }
            Change::Delete(kv) => {
                (self.entries.write().unwrap_or_else(PoisonError::into_inner)).remove(&kv.key);
            }
        }
    }

    /// Runs `f` over every entry, in key order, under the read lock: keep
    /// `f` synchronous and short.
    pub fn with<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &Entry>) -> R) -> R {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let mut iter = entries.values().map(|e| &**e);
        f(&mut iter)
    }
}

/// A resource: (group, version, plural).
pub type Gvr = (&'static str, &'static str, &'static str);

/// The collections kept, by (group, version, plural).
pub const CACHED: [Gvr; 4] = [
    ("iam.kubesphere.io", "v1alpha2", "users"),
    ("", "v1", "namespaces"),
    ("tenant.kubesphere.io", "v1alpha2", "workspacetemplates"),
    ("tenant.kubesphere.io", "v1alpha1", "workspaces"),
];

/// Every cached collection, with the informers that keep them.
#[derive(Debug, Default)]
pub struct Catalog {
    collections: BTreeMap<Gvr, (Arc<ResourceDef>, Arc<Collection>)>,
    _informers: Vec<Informer>,
}

impl Catalog {
    /// Lists each cached resource `app` serves and follows its changes.
    pub async fn follow(app: &App, store: Arc<dyn Storage>) -> Result<Catalog, StoreError> {
        let mut catalog = Catalog::default();
        let view = app.registry.view();
        for gvr @ (group, version, plural) in CACHED {
            let Some(def) = view.get(group, version, plural).cloned() else {
                continue;
            };
            let collection = Arc::new(Collection::default());
            let (sink, served) = (Arc::clone(&collection), Arc::clone(&def));
            let prefix = def.prefix_in(None);
            let informer = Informer::start(Arc::clone(&store), prefix, move |change| {
                sink.apply(&served, change)
            })
            .await?;
            catalog._informers.push(informer);
            catalog.collections.insert(gvr, (def, collection));
        }
        Ok(catalog)
    }

    /// How many of `names` name an object of the cached cluster-scoped
    /// resource `gvr` (`None` when it is not cached): point lookups, for
    /// counting a few names among many objects.
    pub fn count_named<'a>(
        &self,
        gvr: Gvr,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Option<usize> {
        let (def, collection) = self.collections.get(&gvr)?;
        let entries = collection
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Some(
            names
                .into_iter()
                .filter(|name| entries.contains_key(def.key("", name).as_str()))
                .count(),
        )
    }

    /// The collection of a cached resource.
    pub fn collection(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<Collection>> {
        (self.collections.iter())
            .find(|((g, v, p), _)| *g == group && *v == version && *p == plural)
            .map(|(_, (_, c))| c)
    }
}

/// Writes a list response from JSON items already encoded:
/// `{"items":[...],"totalItems":N}`.
pub fn list_body<'a>(items: impl IntoIterator<Item = &'a [u8]>, total_items: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"items\":[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"],\"totalItems\":");
    out.extend_from_slice(total_items.to_string().as_bytes());
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_bodies_are_json() {
        let body = list_body([&b"{\"a\":1}"[..], &b"{\"b\":2}"[..]], 7);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"items": [{"a": 1}, {"b": 2}], "totalItems": 7})
        );
        let empty: serde_json::Value =
            serde_json::from_slice(&list_body([], 0)).unwrap_or_default();
        assert_eq!(empty, serde_json::json!({"items": [], "totalItems": 0}));
    }
}
