//! KubeSphere's admission plugins, added after Kubernetes' own.

use async_trait::async_trait;
use ks_kube_api::admission::{AdmissionPlugin, AdmissionRequest};
use ks_kube_api::error::{ApiResult, GroupResource};
use ks_kube_api::resources::ResourceDef;
use ks_kube_api::{ApiError, App};
use ks_types::resource::KindInfo;
use ks_types::validation::{FieldErrors, Validate};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// KubeSphere's own rules for its kinds (users, roles and bindings,
/// workspaces, clusters, ...), from ks-types, checked on every create and
/// update after the CRD's schema accepted the object (the part KubeSphere
/// runs as validating webhooks). Only the version ks-types models is
/// checked; other versions pass through.
#[derive(Debug)]
pub struct KubeSphereTypes;

#[async_trait]
impl AdmissionPlugin for KubeSphereTypes {
    fn name(&self) -> &'static str {
        "KubeSphereTypes"
    }

    async fn validate(&self, _app: &App, request: &AdmissionRequest<'_>) -> ApiResult<()> {
        let Some(obj) = &request.object else {
            return Ok(());
        };
        validate(request.resource, obj)
    }
}

/// Checks `obj` of resource `def` against ks-types' rules (a 422 naming
/// every invalid field); resources ks-types does not model pass.
pub fn validate(def: &ResourceDef, obj: &Value) -> ApiResult<()> {
    use ks_types::*;
    let errors = if is::<User>(def) {
        check::<User>(obj)?
    } else if is::<GlobalRole>(def) {
        check::<GlobalRole>(obj)?
    } else if is::<GlobalRoleBinding>(def) {
        check::<GlobalRoleBinding>(obj)?
    } else if is::<WorkspaceRole>(def) {
        check::<WorkspaceRole>(obj)?
    } else if is::<WorkspaceRoleBinding>(def) {
        check::<WorkspaceRoleBinding>(obj)?
    } else if is::<Group>(def) {
        check::<Group>(obj)?
    } else if is::<GroupBinding>(def) {
        check::<GroupBinding>(obj)?
    } else if is::<LoginRecord>(def) {
        check::<LoginRecord>(obj)?
    } else if is::<Workspace>(def) {
        check::<Workspace>(obj)?
    } else if is::<WorkspaceTemplate>(def) {
        check::<WorkspaceTemplate>(obj)?
    } else if is::<Cluster>(def) {
        check::<Cluster>(obj)?
    } else {
        return Ok(());
    };
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        GroupResource {
            group: &def.group,
            resource: &def.plural,
        },
        &def.kind,
        ks_kube_api::object::meta_str(obj, "name"),
        errors.into_iter().map(Into::into).collect(),
    ))
}

fn is<K: KindInfo>(def: &ResourceDef) -> bool {
    def.group == K::GROUP && def.kind == K::KIND && def.version == K::VERSION
}

fn check<K: DeserializeOwned + Validate>(obj: &Value) -> ApiResult<FieldErrors> {
    let typed: K = serde_json::from_value(obj.clone())
        .map_err(|e| ApiError::bad_request(format!("the object does not decode: {e}")))?;
    Ok(typed.validate())
}
