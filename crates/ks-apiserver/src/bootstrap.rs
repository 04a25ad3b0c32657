//! First-start content: the `default`, `kube-system` and
//! `kubesphere-system` namespaces, KubeSphere's CRDs and built-in roles.
//! Idempotent: existing objects are left as they are, so a restart (or a
//! user's edit of a built-in role) is never overwritten.

use serde::Serialize;
use serde_json::Value;

use ks_kube_api::App;
use ks_kube_api::api::create_internal;
use ks_kube_api::error::{ApiError, ApiResult};

/// Namespaces every server has.
pub(crate) const NAMESPACES: [&str; 3] = ["default", "kube-system", "kubesphere-system"];

fn to_value<T: Serialize>(obj: &T) -> ApiResult<Value> {
    serde_json::to_value(obj)
        .map_err(|e| ApiError::internal(format!("encoding a built-in object: {e}")))
}

/// Creates whatever of the bootstrap content is missing.
pub(crate) async fn bootstrap(app: &App) -> ApiResult<()> {
    ks_kube_api::crd::load_crds(app).await?;
    let mut created = 0usize;
    for crd in ks_types::crd::crds() {
        created += usize::from(create_internal(app, to_value(&crd)?).await?);
    }
    ks_kube_api::crd::load_crds(app).await?;
    for ns in NAMESPACES {
        let obj =
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        created += usize::from(create_internal(app, obj).await?);
    }
    let mut roles = Vec::new();
    for role in ks_types::builtin::global_role_templates()
        .into_iter()
        .chain(ks_types::builtin::global_roles())
    {
        roles.push(to_value(&role)?);
    }
    for role in ks_types::builtin::workspace_role_templates() {
        roles.push(to_value(&role)?);
    }
    for role in roles {
        created += usize::from(create_internal(app, role).await?);
    }
    if created > 0 {
        tracing::info!(created, "bootstrap created its missing objects");
    }
    Ok(())
}
