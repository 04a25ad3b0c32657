//! The admission chain: an ordered list of plugins every write passes, as
//! in kube-apiserver. First every plugin's [`AdmissionPlugin::admit`]
//! (mutating) in order, then the kind's strategy validates the result,
//! then every plugin's [`AdmissionPlugin::validate`] in order. The first
//! error rejects the write and nothing is stored.
//!
//! The API crate registers [`NamespaceLifecycle`]; the server that embeds
//! it adds its own plugins with [`AdmissionChain::with`] (ks-apiserver adds
//! KubeSphere's type checks, and later password hashing and escalation
//! checks) without touching a handler.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::app::App;
use crate::error::{ApiError, ApiResult, GroupResource};
use crate::resources::ResourceDef;
use crate::user::UserInfo;

/// What a write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// POST, or a PUT that creates.
    Create,
    /// PUT or PATCH of an existing object.
    Update,
    /// DELETE of one object (also once per object of a deletecollection).
    Delete,
}

/// One write, as admission plugins see it.
#[derive(Debug)]
pub struct AdmissionRequest<'a> {
    /// Create, update or delete.
    pub operation: Operation,
    /// The resource written.
    pub resource: &'a ResourceDef,
    /// The subresource (`status`), or empty.
    pub subresource: &'a str,
    /// The namespace, empty for cluster-scoped resources.
    pub namespace: &'a str,
    /// The object's name.
    pub name: &'a str,
    /// The object as it would be stored (`None` for a delete). Mutating
    /// plugins change it in place.
    pub object: Option<Value>,
    /// The stored object (update and delete).
    pub old_object: Option<&'a Value>,
    /// Who is writing.
    pub user: &'a UserInfo,
    /// Whether the write is a dry run (plugins with side effects skip them).
    pub dry_run: bool,
}

impl AdmissionRequest<'_> {
    /// The group and resource, for error messages.
    pub fn group_resource(&self) -> GroupResource<'_> {
        GroupResource {
            group: &self.resource.group,
            resource: &self.resource.plural,
        }
    }
}

/// One admission plugin. Either method may be left to its default (no
/// opinion).
#[async_trait]
pub trait AdmissionPlugin: Send + Sync + fmt::Debug {
    /// A short name for logs and errors.
    fn name(&self) -> &'static str;

    /// Mutating phase: may change `request.object`.
    async fn admit(&self, app: &App, request: &mut AdmissionRequest<'_>) -> ApiResult<()> {
        let _ = (app, request);
        Ok(())
    }

    /// Validating phase: sees the object after every mutation and the
    /// strategy's defaults; may only reject.
    async fn validate(&self, app: &App, request: &AdmissionRequest<'_>) -> ApiResult<()> {
        let _ = (app, request);
        Ok(())
    }
}

/// The ordered plugins.
#[derive(Clone, Debug, Default)]
pub struct AdmissionChain {
    plugins: Vec<Arc<dyn AdmissionPlugin>>,
}

impl AdmissionChain {
    /// No plugins at all.
    pub fn empty() -> Self {
        AdmissionChain::default()
    }

    /// What a Kubernetes API needs: [`NamespaceLifecycle`].
    pub fn kubernetes() -> Self {
        AdmissionChain::empty().with(Arc::new(NamespaceLifecycle))
    }

    /// Appends a plugin (it runs after the ones already there, in both
    /// phases).
    pub fn with(mut self, plugin: Arc<dyn AdmissionPlugin>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// The plugins' names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.plugins.iter().map(|p| p.name()).collect()
    }

    /// Runs every plugin's mutating phase, in order.
    pub async fn admit(&self, app: &App, request: &mut AdmissionRequest<'_>) -> ApiResult<()> {
        for plugin in &self.plugins {
            plugin.admit(app, request).await?;
        }
        Ok(())
    }

    /// Runs every plugin's validating phase, in order.
    pub async fn validate(&self, app: &App, request: &AdmissionRequest<'_>) -> ApiResult<()> {
        for plugin in &self.plugins {
            plugin.validate(app, request).await?;
        }
        Ok(())
    }
}

/// Namespaces Kubernetes never lets anyone delete.
const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// Kubernetes' `NamespaceLifecycle`: nothing is created in a namespace
/// that does not exist or is being deleted, and the system namespaces
/// cannot be deleted.
#[derive(Debug)]
pub struct NamespaceLifecycle;

#[async_trait]
impl AdmissionPlugin for NamespaceLifecycle {
    fn name(&self) -> &'static str {
        "NamespaceLifecycle"
    }

    async fn validate(&self, app: &App, request: &AdmissionRequest<'_>) -> ApiResult<()> {
        match request.operation {
            Operation::Delete
                if request.resource.is("", "namespaces")
                    && IMMORTAL_NAMESPACES.contains(&request.name) =>
            {
                let mut err = ApiError::forbidden(format!(
                    "namespace {:?} is forbidden: this namespace may not be deleted",
                    request.name
                ));
                err.reason = "Forbidden";
                Err(err)
            }
            Operation::Create if request.resource.namespaced => {
                check_namespace(app, request.namespace).await
            }
            _ => Ok(()),
        }
    }
}

/// The namespace exists and is not being deleted.
async fn check_namespace(app: &App, namespace: &str) -> ApiResult<()> {
    let kv = app
        .store
        .get(&format!("/core/namespaces/{namespace}"))
        .await
        .map_err(ApiError::from)?;
    let Some(kv) = kv else {
        return Err(ApiError::not_found(
            GroupResource {
                group: "",
                resource: "namespaces",
            },
            namespace,
        ));
    };
    // Only `metadata.deletionTimestamp` matters: decode nothing else.
    #[derive(serde::Deserialize)]
    struct NamespaceView {
        #[serde(default)]
        metadata: NamespaceMeta,
    }
    #[derive(Default, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct NamespaceMeta {
        #[serde(default)]
        deletion_timestamp: Option<serde::de::IgnoredAny>,
    }
    let ns: NamespaceView = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored namespace does not decode: {e}")))?;
    if ns.metadata.deletion_timestamp.is_some() {
        let mut err = ApiError::forbidden(format!(
            "unable to create new content in namespace {namespace} because it is being terminated"
        ));
        err.reason = "Forbidden";
        return Err(err);
    }
    Ok(())
}
