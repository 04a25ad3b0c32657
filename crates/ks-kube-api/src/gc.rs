//! In-process controllers that complete deletions, as kube-controller-
//! manager's garbage collector and namespace controller and the
//! apiextensions CRD finalizer do:
//!
//! - **owner references**: when an owner is gone, a dependent whose every
//!   owner is gone is deleted (Background); otherwise the dangling
//!   references are removed;
//! - **`orphan`** finalizer: the owner's dependents lose their reference to
//!   it, then the finalizer is removed;
//! - **`foregroundDeletion`** finalizer: the dependents are deleted first,
//!   then the finalizer is removed;
//! - **namespaces**: everything in a deleted namespace is deleted, then the
//!   `kubernetes` entry of `spec.finalizers` is removed;
//! - **CRDs**: the objects of a deleted CRD are deleted, then its cleanup
//!   finalizer is removed.
//!
//! One task follows a watch of the whole store and keeps an index from
//! owner uid to dependent keys, so its work is proportional to the changes,
//! not to the number of objects.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ks_store::{EventKind, KeyValue, ListOptions, WatchItem};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::api::params::Propagation;
use crate::api::write::{
    Committed, DeleteRequest, FOREGROUND_FINALIZER, ORPHAN_FINALIZER, commit_update, delete_object,
};
use crate::app::App;
use crate::kinds::crd::CRD_CLEANUP_FINALIZER;
use crate::kinds::namespace::NAMESPACE_FINALIZER;
use crate::object::{self, finalizers, is_deleting, meta_str, owner_references};
use crate::resources::ResourceDef;

/// A stored object as JSON.
fn decode(key: &str, value: &[u8]) -> Result<Value, GcError> {
    serde_json::from_slice(value).map_err(|source| GcError::Decode {
        key: key.to_owned(),
        source,
    })
}

/// Why a garbage collector pass failed (it restarts after a pause).
#[derive(Debug, thiserror::Error)]
enum GcError {
    #[error(transparent)]
    Store(#[from] ks_store::StoreError),
    #[error(transparent)]
    Api(#[from] crate::error::ApiError),
    #[error("the stored object at {key} does not decode: {source}")]
    Decode {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not orphan {0}: too many concurrent writes")]
    Contended(String),
}

/// Starts the controllers.
pub(crate) fn spawn(app: Arc<App>) -> Vec<JoinHandle<()>> {
    vec![tokio::spawn(async move {
        loop {
            if app.is_shutting_down() {
                return;
            }
            match run(&app).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collector restarting");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    })]
}

#[derive(Default)]
struct State {
    /// Owner uid -> keys of objects that reference it.
    dependents: HashMap<String, BTreeSet<Arc<str>>>,
    /// Key -> owner uids it references (to update the index).
    owners_of: HashMap<Arc<str>, Vec<String>>,
    /// Owner uids whose owner is gone, to process.
    gone: BTreeSet<String>,
    /// Keys of objects being deleted, to finalize.
    finalize: BTreeSet<Arc<str>>,
}

impl State {
    fn index(&mut self, kv: &KeyValue) {
        self.unindex(&kv.key);
        if !object::contains_bytes(&kv.value, b"\"ownerReferences\"") {
            return;
        }
        let Ok(obj) = serde_json::from_slice::<Value>(&kv.value) else {
            return;
        };
        let uids: Vec<String> = owner_references(&obj)
            .into_iter()
            .map(|o| o.uid)
            .filter(|u| !u.is_empty())
            .collect();
        for uid in &uids {
            self.dependents
                .entry(uid.clone())
                .or_default()
                .insert(Arc::clone(&kv.key));
        }
        if !uids.is_empty() {
            self.owners_of.insert(Arc::clone(&kv.key), uids);
        }
    }

    fn unindex(&mut self, key: &Arc<str>) {
        if let Some(uids) = self.owners_of.remove(key) {
            for uid in uids {
                if let Some(set) = self.dependents.get_mut(&uid) {
                    set.remove(key);
                    if set.is_empty() {
                        self.dependents.remove(&uid);
                    }
                }
            }
        }
    }

    fn observe(&mut self, kv: &KeyValue, deleted: bool) {
        if deleted {
            self.unindex(&kv.key);
            self.finalize.remove(&kv.key);
            if let Ok(obj) = serde_json::from_slice::<Value>(&kv.value) {
                let uid = meta_str(&obj, "uid");
                if self.dependents.contains_key(uid) {
                    self.gone.insert(uid.to_owned());
                }
            }
            return;
        }
        self.index(kv);
        if object::contains_bytes(&kv.value, b"\"deletionTimestamp\"") {
            self.finalize.insert(Arc::clone(&kv.key));
        }
    }
}

async fn run(app: &App) -> Result<(), GcError> {
    let mut state = State::default();
    let page = app.store.list(ListOptions::prefix("/")).await?;
    for kv in &page.items {
        state.observe(kv, false);
    }
    // Owners that vanished while nobody watched.
    let uids: Vec<String> = state.dependents.keys().cloned().collect();
    state.gone.extend(uids);
    let mut stream = app.store.watch("/", Some(page.revision))?;
    let mut shutdown = app.shutdown.clone();
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    loop {
        process(app, &mut state).await;
        tokio::select! {
            item = stream.next() => match item {
                None => return Ok(()),
                Some(Ok(WatchItem::Event(event))) => {
                    state.observe(&event.kv, event.kind == EventKind::Deleted);
                }
                Some(Ok(WatchItem::Progress(_))) => {}
                Some(Err(e)) => return Err(e.into()),
            },
            _ = retry.tick() => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

fn def_of_key(app: &App, key: &str) -> Option<Arc<ResourceDef>> {
    let mut parts = key.trim_start_matches('/').splitn(3, '/');
    let group = parts.next()?;
    let plural = parts.next()?;
    let group = if group == "core" { "" } else { group };
    app.registry.view().storage_def(group, plural).cloned()
}

async fn process(app: &App, state: &mut State) {
    let gone: Vec<String> = std::mem::take(&mut state.gone).into_iter().collect();
    for uid in gone {
        let keys: Vec<Arc<str>> = state
            .dependents
            .get(&uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for key in keys {
            if let Err(e) = drop_dangling(app, &key).await {
                tracing::debug!(%key, error = %e, "garbage collection will retry");
                state.gone.insert(uid.clone());
            }
        }
    }
    let finalize: Vec<Arc<str>> = std::mem::take(&mut state.finalize).into_iter().collect();
    for key in finalize {
        match finalize_one(app, state, &key).await {
            Ok(true) => {}
            Ok(false) => {
                state.finalize.insert(key);
            }
            Err(e) => {
                tracing::debug!(%key, error = %e, "finalization will retry");
                state.finalize.insert(key);
            }
        }
    }
}

/// Whether the owner an ownerReference names still exists with that uid.
async fn owner_exists(app: &App, dependent_ns: &str, owner: &object::OwnerRef) -> bool {
    let (group, version) = owner
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", owner.api_version.as_str()));
    let _ = version;
    let view = app.registry.view();
    let Some(def) = view.by_kind(group, &owner.kind) else {
        // An owner of a kind nobody serves cannot exist here.
        return false;
    };
    let key = def.key(dependent_ns, &owner.name);
    match app.store.get(&key).await {
        Ok(Some(kv)) => serde_json::from_slice::<Value>(&kv.value)
            .is_ok_and(|o| meta_str(&o, "uid") == owner.uid),
        Ok(None) => false,
        // Unknown: keep the dependent.
        Err(_) => true,
    }
}

/// Deletes a dependent whose owners are all gone, or removes the
/// references to the gone ones.
async fn drop_dangling(app: &App, key: &str) -> Result<(), GcError> {
    let Some(def) = def_of_key(app, key) else {
        return Ok(());
    };
    let Some(current) = app.store.get(key).await? else {
        return Ok(());
    };
    let obj: Value = decode(key, &current.value)?;
    let ns = meta_str(&obj, "namespace").to_owned();
    let refs = owner_references(&obj);
    let mut alive = Vec::new();
    for r in &refs {
        if owner_exists(app, &ns, r).await {
            alive.push(r.uid.clone());
        }
    }
    if alive.len() == refs.len() {
        return Ok(());
    }
    if alive.is_empty() {
        let name = meta_str(&obj, "name").to_owned();
        return match delete_object(
            app,
            &def,
            &ns,
            &name,
            DeleteRequest {
                uid: Some(meta_str(&obj, "uid")),
                ..DeleteRequest::new(Propagation::Background)
            },
        )
        .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        };
    }
    let mut new = obj.clone();
    remove_owner_refs(&mut new, |uid| !alive.iter().any(|a| a == uid));
    commit_update(app, &def, key, &current, &obj, new, false)
        .await
        .map(|_| ())
        .map_err(GcError::from)
}

fn remove_owner_refs(obj: &mut Value, drop: impl Fn(&str) -> bool) {
    if let Some(refs) = obj
        .pointer_mut("/metadata/ownerReferences")
        .and_then(Value::as_array_mut)
    {
        refs.retain(|r| !drop(r.get("uid").and_then(Value::as_str).unwrap_or("")));
        if refs.is_empty() {
            object::remove_meta(obj, "ownerReferences");
        }
    }
}

fn remove_finalizer(obj: &mut Value, finalizer: &str) {
    let list: Vec<String> = finalizers(obj)
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    if list.is_empty() {
        object::remove_meta(obj, "finalizers");
    } else {
        object::set_meta(obj, "finalizers", json!(list));
    }
}

/// Advances the deletion of one object. Ok(true) when there is nothing
/// more to do for it now.
async fn finalize_one(app: &App, state: &State, key: &Arc<str>) -> Result<bool, GcError> {
    let Some(def) = def_of_key(app, key) else {
        return Ok(true);
    };
    let Some(current) = app.store.get(key).await? else {
        return Ok(true);
    };
    let obj: Value = decode(key, &current.value)?;
    if !is_deleting(&obj) {
        return Ok(true);
    }
    let uid = meta_str(&obj, "uid").to_owned();
    let fins = finalizers(&obj);
    let mut new = obj.clone();
    let mut done = true;

    if fins.iter().any(|f| f == ORPHAN_FINALIZER) {
        for dep in state.dependents.get(&uid).into_iter().flatten() {
            orphan(app, dep, &uid).await?;
        }
        remove_finalizer(&mut new, ORPHAN_FINALIZER);
    }
    if fins.iter().any(|f| f == FOREGROUND_FINALIZER) {
        let deps: Vec<Arc<str>> = state
            .dependents
            .get(&uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        if deps.is_empty() {
            remove_finalizer(&mut new, FOREGROUND_FINALIZER);
        } else {
            done = false;
            for dep in deps {
                delete_key(app, &dep, Propagation::Foreground).await?;
            }
        }
    }
    if def.is("", "namespaces")
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|f| f == NAMESPACE_FINALIZER))
    {
        let name = meta_str(&obj, "name").to_owned();
        if empty_namespace(app, &name).await? {
            if let Some(list) = new
                .pointer_mut("/spec/finalizers")
                .and_then(Value::as_array_mut)
            {
                list.retain(|f| f != NAMESPACE_FINALIZER);
            }
        } else {
            done = false;
        }
    }
    if def.is("apiextensions.k8s.io", "customresourcedefinitions")
        && fins.iter().any(|f| f == CRD_CLEANUP_FINALIZER)
    {
        let name = meta_str(&obj, "name").to_owned();
        if delete_crd_objects(app, &name).await? {
            remove_finalizer(&mut new, CRD_CLEANUP_FINALIZER);
        } else {
            done = false;
        }
    }
    if new != obj {
        match commit_update(app, &def, key, &current, &obj, new, false).await {
            Ok(Committed::Deleted(_)) | Ok(Committed::Written(_)) | Ok(Committed::Unchanged(_)) => {
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

async fn orphan(app: &App, key: &str, owner_uid: &str) -> Result<(), GcError> {
    let Some(def) = def_of_key(app, key) else {
        return Ok(());
    };
    for _ in 0..8 {
        let Some(current) = app.store.get(key).await? else {
            return Ok(());
        };
        let obj: Value = decode(key, &current.value)?;
        let mut new = obj.clone();
        remove_owner_refs(&mut new, |uid| uid == owner_uid);
        match commit_update(app, &def, key, &current, &obj, new, false).await {
            Ok(_) => return Ok(()),
            Err(ks_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(GcError::Contended(key.to_owned()))
}

async fn delete_key(app: &App, key: &str, propagation: Propagation) -> Result<(), GcError> {
    let Some(def) = def_of_key(app, key) else {
        return Ok(());
    };
    let Some(current) = app.store.get(key).await? else {
        return Ok(());
    };
    let obj: Value = decode(key, &current.value)?;
    if is_deleting(&obj) {
        return Ok(());
    }
    let (ns, name) = (
        meta_str(&obj, "namespace").to_owned(),
        meta_str(&obj, "name").to_owned(),
    );
    match delete_object(app, &def, &ns, &name, DeleteRequest::new(propagation)).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes what is left in a namespace; true when nothing is.
async fn empty_namespace(app: &App, namespace: &str) -> Result<bool, GcError> {
    let view = app.registry.view();
    let prefixes = view
        .all()
        .filter(|d| d.namespaced)
        .map(|d| d.prefix_in(Some(namespace)));
    delete_under(app, prefixes.collect()).await
}

/// Deletes the objects of a CRD; true when none are left.
async fn delete_crd_objects(app: &App, crd_name: &str) -> Result<bool, GcError> {
    let view = app.registry.view();

    let prefixes = view
        .all()
        .filter(|d| d.crd.as_deref() == Some(crd_name))
        .map(|d| d.key_prefix());
    delete_under(app, prefixes.collect()).await
}

/// Starts the deletion of every object under the prefixes (each visited
/// once); true when there was none.
async fn delete_under(app: &App, prefixes: BTreeSet<String>) -> Result<bool, GcError> {
    let mut empty = true;
    for prefix in prefixes {
        let page = app.store.list(ListOptions::prefix(&prefix)).await?;
        for kv in page.items {
            empty = false;
            delete_key(app, &kv.key, Propagation::Background).await?;
        }
    }
    Ok(empty)
}
