//! What every controller shares: the reconcile loop around kube-rs'
//! [`Controller`], with per-object backoff, metrics and logging, and the
//! helpers their reconciles use.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use futures_util::{Stream, StreamExt as _};
use k8s_openapi::api::rbac::v1::Role;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use ks_types::iam::WorkspaceRole;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource, ResourceExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::backoff::Backoff;
use crate::metrics::{ControllerMetrics, Metrics};

/// A controller's reconcile: one object in, the next action out.
pub(crate) trait Reconciler: Send + Sync + 'static {
    /// The kind it reconciles.
    type Object: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static;
    /// Its name in `--controllers` and in the metrics.
    const NAME: &'static str;

    /// Drives `object` towards its desired state. Idempotent: a settled
    /// object makes no write.
    fn reconcile(
        &self,
        object: Arc<Self::Object>,
    ) -> impl Future<Output = Result<Action, Error>> + Send;
}

struct Driven<R: Reconciler> {
    reconciler: R,
    backoff: Backoff<ObjectRef<R::Object>>,
    metrics: ControllerMetrics,
    store: Store<R::Object>,
}

/// How long a controller may take to stop once shutdown began, after which
/// it is dropped with whatever it still runs (the next start reconciles
/// those objects again). kube-rs' graceful shutdown stops driving the
/// watches and then waits for the reconciles under way, and for its cache
/// to be ready before it runs queued ones: a reconcile waiting for a cache,
/// or a shutdown before the first list completed, waits for ever (seen as
/// SIGTERM taking the server's whole 10 s grace when it came while the
/// controllers were starting). Reconciles take milliseconds.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `controller` with `reconciler` until `shutdown` completes; each
/// item of `resync` reconciles every object again.
pub(crate) async fn drive<R: Reconciler>(
    controller: Controller<R::Object>,
    reconciler: R,
    metrics: &Metrics,
    resync: impl Stream<Item = ()> + Send + 'static,
    shutdown: crate::Shutdown,
) {
    let ctx = Arc::new(Driven {
        reconciler,
        backoff: Backoff::default(),
        metrics: metrics.controller(R::NAME),
        store: controller.store(),
    });
    let stop_waiting = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.await;
            tokio::time::sleep(STOP_GRACE).await;
        }
    };
    controller
        .reconcile_all_on(resync)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<R>, error_policy::<R>, ctx)
        .take_until(stop_waiting)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::trace!(controller = R::NAME, %object, "reconciled"),
                // Reconcile errors are logged by the error policy.
                Err(kube::runtime::controller::Error::ReconcilerFailed(..)) => {}
                // A trigger for an object the cache no longer (or not yet)
                // holds: nothing to do.
                Err(kube::runtime::controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(controller = R::NAME, %object, "triggered for an object not in the cache");
                }
                Err(err) => tracing::warn!(controller = R::NAME, error = %err, "controller"),
            }
        })
        .await;
}

async fn reconcile<R: Reconciler>(
    object: Arc<R::Object>,
    ctx: Arc<Driven<R>>,
) -> Result<Action, Error> {
    let running = ctx.metrics.start();
    let key = ObjectRef::from_obj(&*object);
    let kind = R::Object::kind(&());
    let name = object.meta().name.clone().unwrap_or_default();
    let result = match ctx.reconciler.reconcile(object).await {
        // Deleted while being reconciled: nothing left to do.
        Err(err) if err.is_object_gone() || err.is_not_found_for(&kind, &name) => {
            Ok(Action::await_change())
        }
        other => other,
    };
    running.finished(result.is_ok());
    if result.is_ok() {
        ctx.backoff.succeeded(&key);
        ctx.metrics.depth.set(gauge(ctx.backoff.pending()));
    }
    result
}

fn error_policy<R: Reconciler>(object: Arc<R::Object>, err: &Error, ctx: Arc<Driven<R>>) -> Action {
    let key = ObjectRef::from_obj(&*object);
    // Objects deleted while waiting for a retry will never succeed: forget them.
    ctx.backoff
        .retain(|k| *k == key || ctx.store.get(k).is_some());
    let mut delay = ctx.backoff.failed(&key);
    ctx.metrics.depth.set(gauge(ctx.backoff.pending()));
    if err.is_conflict() {
        // A newer version exists and is on its way: retry soon, however
        // many conflicts came before.
        delay = delay.min(CONFLICT_RETRY_MAX);
        ctx.metrics.conflict();
        tracing::debug!(controller = R::NAME, object = %key, error = %err, retry_in = ?delay, "write conflict; retrying");
    } else {
        tracing::warn!(controller = R::NAME, object = %key, error = %err, retry_in = ?delay, "reconcile failed");
    }
    Action::requeue(delay)
}

/// The longest wait before retrying after a write conflict.
const CONFLICT_RETRY_MAX: std::time::Duration = std::time::Duration::from_millis(100);

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An Event recorder reporting as `controller` (KubeSphere's names, such
/// as `user-controller`).
pub(crate) fn recorder(client: &Client, controller: &str) -> Recorder {
    Recorder::new(
        client.clone(),
        Reporter {
            controller: controller.to_owned(),
            instance: None,
        },
    )
}

/// Records a Normal Event about `object`; a failure is logged, not
/// retried (the object itself is settled).
pub(crate) async fn normal_event<K>(recorder: &Recorder, object: &K, reason: &str, note: String)
where
    K: Resource<DynamicType = ()>,
{
    let event = Event {
        type_: EventType::Normal,
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    if let Err(err) = recorder.publish(&event, &object.object_ref(&())).await {
        tracing::warn!(object = %object.meta().name.as_deref().unwrap_or(""), %reason, error = %err, "recording an event");
    }
}

/// A cache of `K` filled by one watch, and that watch's changes (to feed
/// `Controller::watches_stream`, so one watch serves both).
pub(crate) fn cached<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, config)
        .default_backoff()
        .reflect(writer)
        .touched_objects();
    (reader, stream)
}

/// Waits for `store`'s first list (immediate once it is in).
pub(crate) async fn ready<K>(store: &Store<K>) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store
        .wait_until_ready()
        .await
        .map_err(|_| Error::CacheClosed)
}

/// Whether every entry of `want` is in `have` with the same value.
pub(crate) fn labels_cover(
    have: &Option<BTreeMap<String, String>>,
    want: &Option<BTreeMap<String, String>>,
) -> bool {
    want.iter()
        .flatten()
        .all(|(k, v)| have.as_ref().and_then(|h| h.get(k)) == Some(v))
}

/// Adds `want`'s entries to `into` (overriding equal keys, keeping the
/// others).
pub(crate) fn merge_map(
    into: &mut Option<BTreeMap<String, String>>,
    want: Option<BTreeMap<String, String>>,
) {
    if let Some(want) = want.filter(|w| !w.is_empty()) {
        into.get_or_insert_with(BTreeMap::new).extend(want);
    }
}

/// A built-in role the controllers create and keep (a namespace's Roles, a
/// workspace's WorkspaceRoles): its rules are theirs.
pub(crate) trait BuiltinRole:
    Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Serialize + 'static
{
    /// The kind, for errors.
    const KIND: &'static str;
    /// Whether `self` holds exactly `want`'s rules.
    fn same_rules(&self, want: &Self) -> bool;
    /// Gives `self` `want`'s rules.
    fn take_rules(&mut self, want: Self);
}

impl BuiltinRole for Role {
    const KIND: &'static str = "Role";
    fn same_rules(&self, want: &Self) -> bool {
        self.rules == want.rules
    }
    fn take_rules(&mut self, want: Self) {
        self.rules = want.rules;
    }
}

impl BuiltinRole for WorkspaceRole {
    const KIND: &'static str = "WorkspaceRole";
    fn same_rules(&self, want: &Self) -> bool {
        self.rules == want.rules
    }
    fn take_rules(&mut self, want: Self) {
        self.rules = want.rules;
    }
}

/// Creates each of `wants` that `cache` does not hold (controlled by
/// `owner`, when given), and puts back the rules, labels and annotations of
/// those that drifted (other labels and annotations are kept); whether it
/// wrote. Stops without error when their namespace is gone or going.
pub(crate) async fn sync_builtin_roles<K: BuiltinRole>(
    api: &Api<K>,
    cache: &Store<K>,
    wants: impl IntoIterator<Item = K>,
    owner: Option<&OwnerReference>,
) -> Result<bool, Error> {
    ready(cache).await?;
    let mut wrote = false;
    for mut want in wants {
        let name = want.name_any();
        let mut key = ObjectRef::new(&name);
        key.namespace = want.namespace();
        let Some(have) = cache.get(&key) else {
            if let Some(owner) = owner {
                want.meta_mut().owner_references = Some(vec![owner.clone()]);
            }
            match api.create(&PostParams::default(), &want).await {
                Ok(_) => wrote = true,
                // The cache is behind: it exists.
                Err(err) if is_conflict(&err) => {}
                // Deleted since the cache saw it: nothing more to make.
                Err(err) if is_namespace_terminating(&err) || is_not_found(&err) => {
                    return Ok(wrote);
                }
                Err(err) => return Err(Error::kube("create", K::KIND, &name)(err)),
            }
            continue;
        };
        let (have_meta, want_meta) = (have.meta(), want.meta());
        if have_meta.deletion_timestamp.is_some()
            || (have.same_rules(&want)
                && labels_cover(&have_meta.labels, &want_meta.labels)
                && labels_cover(&have_meta.annotations, &want_meta.annotations))
        {
            continue;
        }
        let mut role = (*have).clone();
        let meta = role.meta_mut();
        merge_map(&mut meta.labels, want.meta_mut().labels.take());
        merge_map(&mut meta.annotations, want.meta_mut().annotations.take());
        role.take_rules(want);
        api.replace(&name, &PostParams::default(), &role)
            .await
            .map_err(Error::kube("update", K::KIND, &name))?;
        wrote = true;
    }
    Ok(wrote)
}

/// Longest label value: an object with a longer name cannot be referenced
/// by a label, so nothing selects its dependents.
pub(crate) const LABEL_VALUE_MAX_LENGTH: usize = 63;

/// Whether the API refused to create something in a namespace that is
/// being deleted (403, cause `NamespaceTerminating`).
pub(crate) fn is_namespace_terminating(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 403
    && (status.message.contains("because it is being terminated")
        || status.details.as_ref().is_some_and(|d| {
            d.causes.iter().any(|c| c.reason == "NamespaceTerminating")
        })))
}

/// Whether the API answered 404.
pub(crate) fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

/// Whether the API answered 409 (a conflict or an existing object).
pub(crate) fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}

/// `Ok(None)` for a 404, the object otherwise.
pub(crate) async fn get_opt<K>(
    api: &Api<K>,
    name: &str,
    kind: &'static str,
) -> Result<Option<K>, Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    api.get_opt(name)
        .await
        .map_err(Error::kube("get", kind, name))
}

/// A controller ownerReference to `owner` (`controller: true`,
/// `blockOwnerDeletion: true`), as `metav1.NewControllerRef` builds it.
/// `None` if `owner` has no uid yet.
pub(crate) fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> Option<OwnerReference> {
    // kube's own controller_owner_ref leaves blockOwnerDeletion unset.
    owner.controller_owner_ref(&()).map(|r| OwnerReference {
        block_owner_deletion: Some(true),
        ..r
    })
}

/// What a dependent's owner references should become for `owner` to be
/// its controller.
#[derive(Debug, PartialEq)]
pub(crate) enum Controlled {
    /// `owner` is the controller already, and nothing `stale` remains.
    Already,
    /// Write these references: `owner` is the controller, the `stale`
    /// references are gone, the others are kept.
    Set(Vec<OwnerReference>),
    /// Another object is the controller; two cannot be.
    Conflict(OwnerReference),
}

/// Makes `owner` the controller among `refs`, dropping those `stale`
/// selects (say, references to an earlier workspace).
pub(crate) fn set_controller(
    refs: &[OwnerReference],
    owner: &OwnerReference,
    stale: impl Fn(&OwnerReference) -> bool,
) -> Controlled {
    let is_owner = |r: &OwnerReference| {
        r.uid == owner.uid
            && r.kind == owner.kind
            && r.name == owner.name
            && r.api_version == owner.api_version
    };
    let settled = refs
        .iter()
        .any(|r| is_owner(r) && r.controller == Some(true))
        && !refs.iter().any(|r| !is_owner(r) && stale(r));
    if settled {
        return Controlled::Already;
    }
    let mut kept: Vec<OwnerReference> = refs
        .iter()
        .filter(|r| !is_owner(r) && !stale(r))
        .cloned()
        .collect();
    if let Some(other) = kept.iter().find(|r| r.controller == Some(true)) {
        return Controlled::Conflict(other.clone());
    }
    kept.push(owner.clone());
    Controlled::Set(kept)
}

/// Deletes every object of kind `K` (in every namespace) matching
/// `selector` that is not already being deleted; `api_in` gives the API of
/// an object's namespace.
pub(crate) async fn delete_labelled<K>(
    client: &Client,
    selector: &str,
    kind: &'static str,
    api_in: impl Fn(Option<&str>) -> Api<K>,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let all: Api<K> = Api::all_with(client.clone(), &());
    let list = all
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(Error::kube("list", kind, selector))?;
    for item in list.items {
        if item.meta().deletion_timestamp.is_some() {
            continue;
        }
        delete_opt(&api_in(item.namespace().as_deref()), &item.name_any(), kind).await?;
    }
    Ok(())
}

/// Deletes `name`; `Ok(false)` if it was already gone.
pub(crate) async fn delete_opt<K>(
    api: &Api<K>,
    name: &str,
    kind: &'static str,
) -> Result<bool, Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        // Already gone: what we wanted.
        Err(err) if is_not_found(&err) => Ok(false),
        Err(err) => Err(Error::kube("delete", kind, name)(err)),
    }
}

/// The objects of a controller's `store` whose label `key` is `value`.
pub(crate) fn labelled<K>(store: &Store<K>, key: &str, value: &str) -> Vec<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.state_filter(|o| o.labels().get(key).map(String::as_str) == Some(value))
}

/// The API of a cluster-scoped kind, whatever the (absent) namespace.
pub(crate) fn cluster<K>(client: &Client) -> impl Fn(Option<&str>) -> Api<K> + '_
where
    K: Resource<DynamicType = ()>,
{
    move |_| Api::all(client.clone())
}

/// The API of a namespaced kind in an object's namespace.
pub(crate) fn namespaced<K>(client: &Client) -> impl Fn(Option<&str>) -> Api<K> + '_
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    move |ns| match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reconcile that never ends (as one waiting for a cache that a
    /// stopping controller no longer fills); says when it started.
    struct Stuck(Arc<tokio::sync::Notify>);

    impl Reconciler for Stuck {
        type Object = k8s_openapi::api::core::v1::Namespace;
        const NAME: &'static str = "stuck";

        async fn reconcile(&self, _: Arc<Self::Object>) -> Result<Action, Error> {
            self.0.notify_one();
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_controller_stops_even_with_a_reconcile_that_never_ends() {
        use futures_util::FutureExt as _;

        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = ks_apiserver::Config::new(dir.path());
        config.in_memory = true;
        config.plain_http = true;
        config.listen = "127.0.0.1:0".parse().expect("an address");
        config.controllers = None;
        let server = ks_apiserver::start(config).await.expect("a server");
        let mut kube_config = kube::Config::new(server.url.parse().expect("a URL"));
        kube_config.auth_info.token = Some(server.admin_token.clone().into());
        let client = Client::try_from(kube_config).expect("a client");

        let started = Arc::new(tokio::sync::Notify::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown: crate::Shutdown = async move {
            let _ = stopped.await;
        }
        .boxed()
        .shared();
        let metrics = Metrics::new();
        let controller = Controller::new(
            Api::<k8s_openapi::api::core::v1::Namespace>::all(client),
            watcher::Config::default(),
        );
        let reconciler = Stuck(Arc::clone(&started));
        let driving = tokio::spawn(async move {
            drive(
                controller,
                reconciler,
                &metrics,
                futures_util::stream::pending(),
                shutdown,
            )
            .await;
        });
        // The bootstrap namespaces start reconciles that never end.
        started.notified().await;
        stop.send(()).expect("the controller is running");
        // Without the cut after STOP_GRACE, this would never return.
        tokio::time::timeout(std::time::Duration::from_secs(60), driving)
            .await
            .expect("the controller stopped")
            .expect("the controller did not panic");
        server.shutdown().await;
    }

    fn r(kind: &str, name: &str, uid: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: "tenant.kubesphere.io/v1alpha1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: uid.into(),
            controller: Some(controller),
            block_owner_deletion: Some(true),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn maps_cover_and_merge() {
        let have = map(&[("a", "1"), ("b", "2")]);
        assert!(labels_cover(&have, &map(&[("a", "1")])));
        assert!(labels_cover(&have, &None));
        assert!(!labels_cover(&have, &map(&[("a", "2")])));
        assert!(!labels_cover(&None, &map(&[("a", "1")])));
        let mut into = have.clone();
        merge_map(&mut into, map(&[("a", "9"), ("c", "3")]));
        assert_eq!(into, map(&[("a", "9"), ("b", "2"), ("c", "3")]));
        let mut none = None;
        merge_map(&mut none, map(&[]));
        assert_eq!(none, None);
    }

    #[test]
    fn set_controller_cases() {
        let owner = r("Workspace", "ws", "u1", true);
        let stale = |o: &OwnerReference| o.kind == "Workspace";
        assert_eq!(
            set_controller(&[], &owner, stale),
            Controlled::Set(vec![owner.clone()])
        );
        assert_eq!(
            set_controller(std::slice::from_ref(&owner), &owner, stale),
            Controlled::Already
        );
        // An earlier workspace's reference is replaced.
        let old = r("Workspace", "old", "u0", true);
        assert_eq!(
            set_controller(&[old, owner.clone()], &owner, stale),
            Controlled::Set(vec![owner.clone()])
        );
        // Our reference without `controller` is upgraded; others are kept.
        let other = r("Thing", "x", "u9", false);
        assert_eq!(
            set_controller(
                &[other.clone(), r("Workspace", "ws", "u1", false)],
                &owner,
                stale
            ),
            Controlled::Set(vec![other, owner.clone()])
        );
        // Another controller is not overruled.
        let boss = r("Thing", "boss", "u8", true);
        assert_eq!(
            set_controller(std::slice::from_ref(&boss), &owner, stale),
            Controlled::Conflict(boss)
        );
    }
}
