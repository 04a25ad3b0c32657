//! A ks-apiserver in process with its controllers, an admin client, and
//! the waiting the controller tests need.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ks_controller_manager::{Controllers, Metrics, Settings};
use ks_store::{Precondition, Revision, Storage, WriteOp};
use kube::api::{Api, ListParams, PostParams};
use kube::{Resource, ResourceExt as _};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// How long [`Harness::eventually`] waits.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A server running the selected controllers, and an admin client.
pub struct Harness {
    server: Option<ks_apiserver::RunningServer>,
    pub client: kube::Client,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A server running `controllers` (KubeSphere's `--controllers` list)
    /// with default settings.
    pub async fn start(controllers: &str) -> Harness {
        Harness::with(controllers, Settings::default()).await
    }

    /// A server running `controllers` with `settings`.
    pub async fn with(controllers: &str, settings: Settings) -> Harness {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let mut config = ks_apiserver::Config::new(dir.path());
        config.in_memory = true;
        config.plain_http = true;
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.shutdown_grace = Duration::from_secs(2);
        config.controllers = Some(controllers.parse::<Controllers>().unwrap());
        config.controller_settings = settings;
        let server = ks_apiserver::start(config).await.unwrap();
        let mut kc = kube::Config::new(server.url.parse().unwrap());
        kc.auth_info.token = Some(server.admin_token.clone().into());
        let client = kube::Client::try_from(kc).unwrap();
        Harness {
            server: Some(server),
            client,
            _dir: dir,
        }
    }

    pub fn server(&self) -> &ks_apiserver::RunningServer {
        self.server.as_ref().unwrap()
    }

    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.server().app.store
    }

    pub fn metrics(&self) -> &Metrics {
        self.server().controllers.as_ref().unwrap().metrics()
    }

    /// The API of a cluster-scoped kind.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = ()>,
    {
        Api::all(self.client.clone())
    }

    /// The API of a namespaced kind in `ns`.
    pub fn api_in<K>(&self, ns: &str) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Creates the cluster-scoped `obj` through the API as the admin.
    pub async fn create<K>(&self, obj: Value) -> K
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + serde::Serialize + Debug,
    {
        let obj: K = serde_json::from_value(obj).unwrap();
        let api: Api<K> = Api::all(self.client.clone());
        api.create(&PostParams::default(), &obj).await.unwrap()
    }

    /// Creates the namespaced `obj` (in its `metadata.namespace`) through
    /// the API as the admin.
    pub async fn create_in<K>(&self, obj: Value) -> K
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + Debug,
    {
        let obj: K = serde_json::from_value(obj).unwrap();
        let ns = obj.meta().namespace.clone().expect("metadata.namespace");
        self.api_in::<K>(&ns)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap()
    }

    /// Writes `obj` straight into the store at `key`, past admission, with
    /// the resourceVersion the server would give it.
    pub async fn put(&self, key: &str, mut obj: Value) {
        self.store()
            .write(
                key,
                Precondition::None,
                WriteOp::Put(Box::new(move |revision| {
                    obj["metadata"]["resourceVersion"] = json!(revision.to_string());
                    Ok(Bytes::from(serde_json::to_vec(&obj)?))
                })),
            )
            .await
            .unwrap();
    }

    /// Polls `check` until it returns `Some` ([`PATIENCE`] at most; the
    /// panic shows `what` and the last `Err`).
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match check().await {
                Ok(v) => return v,
                Err(last) => {
                    assert!(Instant::now() < deadline, "{what}: {last}");
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Polls the object `name` of `api` until `done` holds.
    pub async fn wait_for<K>(
        &self,
        api: &Api<K>,
        name: &str,
        what: &str,
        done: impl Fn(&K) -> bool,
    ) -> K
    where
        K: Resource + Clone + DeserializeOwned + Debug,
    {
        self.eventually(&format!("{name}: {what}"), || async {
            match api.get_opt(name).await.map_err(|e| e.to_string())? {
                Some(obj) if done(&obj) => Ok(obj),
                Some(obj) => Err(format!("{obj:#?}")),
                None => Err("not found".to_owned()),
            }
        })
        .await
    }

    /// Polls until `name` is gone from `api`.
    pub async fn wait_gone<K>(&self, api: &Api<K>, name: &str)
    where
        K: Resource + Clone + DeserializeOwned + Debug,
    {
        self.eventually(&format!("{name}: gone"), || async {
            match api.get_opt(name).await.map_err(|e| e.to_string())? {
                Some(obj) => Err(format!("still there: {obj:#?}")),
                None => Ok(()),
            }
        })
        .await;
    }

    /// The names of the objects of `api` matching `selector`.
    pub async fn names<K>(&self, api: &Api<K>, selector: &str) -> Vec<String>
    where
        K: Resource + Clone + DeserializeOwned + Debug,
    {
        let mut names: Vec<String> = api
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| o.name_any())
            .collect();
        names.sort();
        names
    }

    /// Polls until the objects of `api` matching `selector` are exactly
    /// `want` (sorted names).
    pub async fn wait_names<K>(&self, api: &Api<K>, selector: &str, want: &[&str])
    where
        K: Resource + Clone + DeserializeOwned + Debug,
    {
        self.eventually(&format!("{selector}: {want:?}"), || async {
            let names = self.names(api, selector).await;
            if names == want {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        })
        .await;
    }

    /// Waits until the store's revision has not moved for 300 ms, and
    /// returns it.
    pub async fn quiet(&self) -> Revision {
        let mut last = self.store().current_revision();
        let mut since = Instant::now();
        let deadline = Instant::now() + PATIENCE * 4;
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.store().current_revision();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= Duration::from_millis(300) {
                return now;
            }
            assert!(Instant::now() < deadline, "the store never went quiet");
        }
    }

    /// Waits until quiet, resyncs every controller, waits until their
    /// reconciles stop, and asserts that nothing was written meanwhile.
    pub async fn assert_resync_writes_nothing(&self) {
        let before = self.quiet().await;
        let reconciles = |m: &Metrics| {
            ks_controller_manager::IMPLEMENTED_CONTROLLERS
                .iter()
                .map(|c| m.reconciles(c))
                .sum::<u64>()
        };
        let started = reconciles(self.metrics());
        self.server()
            .controllers
            .as_ref()
            .unwrap()
            .resync()
            .trigger();
        // Reconciles start after the trigger; wait until they stop.
        let mut last = started;
        let mut since = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = reconciles(self.metrics());
            if now != last {
                last = now;
                since = Instant::now();
            } else if last > started && since.elapsed() >= Duration::from_millis(300) {
                break;
            }
            assert!(since.elapsed() < PATIENCE, "the resync reconciled nothing");
        }
        assert_eq!(
            self.store().current_revision(),
            before,
            "a resync of the settled state wrote something"
        );
    }

    /// The failed reconciles of every controller so far, write conflicts
    /// (optimistic concurrency between controllers, retried at once)
    /// excepted.
    pub fn errors(&self) -> u64 {
        ks_controller_manager::IMPLEMENTED_CONTROLLERS
            .iter()
            .map(|c| self.metrics().errors(c) - self.metrics().conflicts(c))
            .sum()
    }

    /// Stops the controllers and starts them again from scratch.
    pub async fn restart_controllers(&mut self) {
        self.server
            .as_mut()
            .unwrap()
            .controllers
            .as_mut()
            .unwrap()
            .restart(Duration::from_secs(5))
            .await;
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// The time `seconds` ago as an API timestamp (RFC 3339, whole seconds).
pub fn seconds_ago(seconds: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
