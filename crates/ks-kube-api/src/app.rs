//! The server's shared state: store, registry, request parser, and the
//! channels background controllers listen on.

use std::sync::{Arc, Mutex};

use ks_request_info::{Resolver, ResolverConfig};
use ks_store::Storage;
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::admission::{AdmissionChain, AdmissionPlugin};
use crate::error::{ApiError, ApiResult};
use crate::kinds::Strategy;
use crate::resources::{Registry, RegistryView, ResourceDef};

/// Largest request body accepted (Kubernetes' limit is 3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Server-wide state, shared by every request.
pub struct App {
    /// The object store.
    pub store: Arc<dyn Storage>,
    /// The served resources.
    pub registry: Registry,
    /// The plugins every write passes.
    pub admission: AdmissionChain,
    /// Makes a name from a `generateName` prefix.
    pub(crate) name_generator: NameGenerator,
    /// Request path parser.
    pub resolver: Resolver,
    /// OpenAPI documents cached per registry view.
    pub(crate) openapi: Mutex<OpenApiCache>,
    /// Flips to true when the server begins shutting down; watches end.
    pub shutdown: watch::Receiver<bool>,
    pub(crate) shutdown_tx: watch::Sender<bool>,
    /// One receiver per open WebSocket watch, so shutdown can wait for
    /// them: an upgraded connection is no longer the HTTP server's.
    pub(crate) websockets: watch::Sender<()>,
    /// Wakes the garbage collector and namespace controller.
    pub(crate) gc_wakeup: Notify,
    /// Server version information.
    pub version: Value,
    /// Serializes registry resyncs after CRD writes.
    pub(crate) crd_sync: tokio::sync::Mutex<()>,
}

/// Cached OpenAPI documents for one registry view.
#[derive(Default)]
pub(crate) struct OpenApiCache {
    pub(crate) view: Option<Arc<RegistryView>>,
    pub(crate) v3_index: Option<Arc<Vec<u8>>>,
    /// Group-version documents with their hash (sent as the ETag).
    pub(crate) v3_docs: std::collections::BTreeMap<String, (Arc<Vec<u8>>, String)>,
    pub(crate) v2: Option<Arc<Vec<u8>>>,
    pub(crate) v2_protobuf: Option<Arc<Vec<u8>>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("revision", &self.store.current_revision())
            .finish()
    }
}

/// The Kubernetes version this server reports and implements the API of.
pub const KUBERNETES_MINOR: &str = "33";

impl App {
    /// State over a store, serving the built-in kinds with Kubernetes'
    /// admission chain (CRDs are loaded by [`crate::crd::load_crds`]).
    pub fn new(store: Arc<dyn Storage>) -> Arc<App> {
        App::builder(store).build()
    }

    /// Starts an [`AppBuilder`]: the built-in kinds and
    /// [`AdmissionChain::kubernetes`], to be extended.
    pub fn builder(store: Arc<dyn Storage>) -> AppBuilder {
        AppBuilder {
            store,
            kinds: crate::kinds::builtins(),
            admission: AdmissionChain::kubernetes(),
            name_generator: Arc::new(crate::object::generate_name),
        }
    }

    fn assemble(builder: AppBuilder) -> Arc<App> {
        let AppBuilder {
            store,
            kinds,
            admission,
            name_generator,
        } = builder;
        let registry = Registry::new(kinds);
        let (shutdown_tx, shutdown) = watch::channel(false);
        // The default configuration is valid by construction.
        let resolver = match Resolver::new(ResolverConfig::default()) {
            Ok(r) => r,
            Err(e) => unreachable!("default resolver configuration rejected: {e}"),
        };
        let version = serde_json::json!({
            "major": "1",
            "minor": KUBERNETES_MINOR,
            "gitVersion": format!("v1.{KUBERNETES_MINOR}.0+ks-rs.{}", env!("CARGO_PKG_VERSION")),
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "",
            "goVersion": "",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        });
        Arc::new(App {
            store,
            registry,
            admission,
            name_generator,
            resolver,
            openapi: Mutex::new(OpenApiCache::default()),
            shutdown,
            shutdown_tx,
            websockets: watch::Sender::new(()),
            gc_wakeup: Notify::new(),
            version,
            crd_sync: tokio::sync::Mutex::new(()),
        })
    }

    /// Asks long-running requests (watches) and controllers to stop.
    pub fn begin_shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }

    /// Resolves once every WebSocket watch has closed (they close when
    /// [`App::begin_shutdown`] is called): the server waits for this, up
    /// to its grace period, as it waits for its HTTP connections.
    pub async fn websockets_closed(&self) {
        self.websockets.closed().await;
    }

    /// How many WebSocket watches are open.
    pub fn open_websockets(&self) -> usize {
        self.websockets.receiver_count()
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Every object of a resource, in one namespace or in all, as the API
    /// serves them at `version` (converted when stored at another), in key
    /// order: for in-process readers that aggregate, such as KubeSphere's
    /// `/kapis` lists. No authorization: the caller decides what to show.
    pub async fn list_objects(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> ApiResult<Vec<Value>> {
        let def = self.served_def(group, version, plural)?;
        let prefix = def.prefix_in(namespace);
        let page = self
            .store
            .list(ks_store::ListOptions::prefix(&prefix))
            .await?;
        (page.items.iter())
            .map(|kv| crate::api::read::served_object(&def, &kv.value))
            .collect()
    }

    /// Every stored object of a resource (in one namespace or all), as
    /// stored, with the definition that serves it (convert with
    /// [`ResourceDef::served`]): for readers that parse only part of each
    /// object.
    pub async fn stored_objects(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> ApiResult<Vec<(Arc<ResourceDef>, ks_store::KeyValue)>> {
        let def = self.served_def(group, version, plural)?;
        let prefix = def.prefix_in(namespace);
        let page = self
            .store
            .list(ks_store::ListOptions::prefix(&prefix))
            .await?;
        Ok(page
            .items
            .into_iter()
            .map(|kv| (Arc::clone(&def), kv))
            .collect())
    }

    /// One object as the API serves it at `version`, or `None`.
    pub async fn get_object(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> ApiResult<Option<Value>> {
        let def = self.served_def(group, version, plural)?;
        match self.store.get(&def.key(namespace, name)).await? {
            Some(kv) => crate::api::read::served_object(&def, &kv.value).map(Some),
            None => Ok(None),
        }
    }

    fn served_def(&self, group: &str, version: &str, plural: &str) -> ApiResult<Arc<ResourceDef>> {
        (self.registry.view().get(group, version, plural).cloned()).ok_or_else(ApiError::no_route)
    }
}

/// Builds an [`App`] with more kinds or admission plugins than the
/// defaults.
pub struct AppBuilder {
    store: Arc<dyn Storage>,
    kinds: Vec<Arc<dyn Strategy>>,
    admission: AdmissionChain,
    name_generator: NameGenerator,
}

/// Makes an object name from a `generateName` prefix.
pub type NameGenerator = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl AppBuilder {
    /// Serves one more compiled-in kind (a kind already served at the same
    /// group, version and resource is replaced).
    pub fn kind(mut self, strategy: Arc<dyn Strategy>) -> Self {
        self.kinds.push(strategy);
        self
    }

    /// Appends an admission plugin after the ones already in the chain.
    pub fn admission_plugin(mut self, plugin: Arc<dyn AdmissionPlugin>) -> Self {
        self.admission = self.admission.with(plugin);
        self
    }

    /// Replaces the whole admission chain.
    pub fn admission(mut self, chain: AdmissionChain) -> Self {
        self.admission = chain;
        self
    }

    /// Replaces how names are generated from `generateName` (the default
    /// appends five random characters, as Kubernetes does); a seam for
    /// tests of name collisions.
    pub fn name_generator(mut self, generator: NameGenerator) -> Self {
        self.name_generator = generator;
        self
    }

    /// The shared state.
    pub fn build(self) -> Arc<App> {
        App::assemble(self)
    }
}

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("kinds", &self.kinds)
            .field("admission", &self.admission)
            .finish()
    }
}
