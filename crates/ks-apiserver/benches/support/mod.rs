//! Shared by the benchmarks: writing objects straight into a store.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use ks_store::{Precondition, Storage, WriteOp};
use serde::Serialize;

/// The store key of an object (`core` for the core group).
pub fn key(group: &str, plural: &str, namespace: Option<&str>, name: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    match namespace {
        Some(ns) => format!("/{group}/{plural}/{ns}/{name}"),
        None => format!("/{group}/{plural}/{name}"),
    }
}

/// Writes one object.
pub async fn put<T: Serialize>(store: &Arc<dyn Storage>, key: String, obj: &T) {
    let bytes = Bytes::from(serde_json::to_vec(obj).unwrap());
    store
        .write(
            &key,
            Precondition::None,
            WriteOp::Put(Box::new(move |_| Ok(bytes))),
        )
        .await
        .unwrap();
}

/// Writes `(key, object)` pairs, 256 at a time.
pub async fn put_all(store: &Arc<dyn Storage>, writes: Vec<(String, serde_json::Value)>) {
    for chunk in writes.chunks(256) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|(k, v)| {
                let store = Arc::clone(store);
                let (k, v) = (k.clone(), v.clone());
                tokio::spawn(async move { put(&store, k, &v).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }
}

/// Writes every object of the synthetic policy straight into the store.
pub async fn load(store: &Arc<dyn Storage>, policy: &ks_rbac::Policy) {
    fn name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
        meta.name.as_deref().unwrap()
    }
    let rbac = "rbac.authorization.k8s.io";
    let iam = "iam.kubesphere.io";
    let mut writes = Vec::new();
    for o in &policy.namespaces {
        writes.push((
            key("", "namespaces", None, name(&o.metadata)),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.roles {
        writes.push((
            key(
                rbac,
                "roles",
                o.metadata.namespace.as_deref(),
                name(&o.metadata),
            ),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.cluster_roles {
        writes.push((
            key(rbac, "clusterroles", None, name(&o.metadata)),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.role_bindings {
        writes.push((
            key(
                rbac,
                "rolebindings",
                o.metadata.namespace.as_deref(),
                name(&o.metadata),
            ),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.cluster_role_bindings {
        writes.push((
            key(rbac, "clusterrolebindings", None, name(&o.metadata)),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.global_roles {
        writes.push((
            key(iam, "globalroles", None, name(&o.metadata)),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.global_role_bindings {
        writes.push((
            key(iam, "globalrolebindings", None, name(&o.metadata)),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.workspace_roles {
        writes.push((
            key(iam, "workspaceroles", None, name(&o.metadata)),
            serde_json::to_value(o).unwrap(),
        ));
    }
    for o in &policy.workspace_role_bindings {
        writes.push((
            key(iam, "workspacerolebindings", None, name(&o.metadata)),
            serde_json::to_value(o).unwrap(),
        ));
    }
    put_all(store, writes).await;
}
