//! `GET /kapis/version`: KubeSphere's version document.
//!
//! KubeSphere's console reads `gitVersion` to choose its API versions (it
//! uses `tenant.kubesphere.io/v1alpha3` workspacetemplates only above 3.2,
//! and fails without the field), so ks-rs reports the KubeSphere release
//! whose APIs it serves, and its own version in `ksRsVersion`.
//! `kubernetes` is the Kubernetes version document the embedded API
//! serves at `/version`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Kapis, ok};

/// The KubeSphere release whose APIs ks-rs serves.
pub const KUBESPHERE_VERSION: &str = "v3.4.1";

pub(super) fn routes() -> Router<Arc<Kapis>> {
    Router::new().route("/kapis/version", get(version))
}

/// The version document.
pub fn document(kubernetes: &Value) -> Value {
    let (major, minor) = KUBESPHERE_VERSION
        .trim_start_matches('v')
        .split_once('.')
        .map(|(major, rest)| (major, rest.split('.').next().unwrap_or("")))
        .unwrap_or(("", ""));
    json!({
        "gitVersion": KUBESPHERE_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        "ksRsVersion": env!("CARGO_PKG_VERSION"),
        "kubernetes": kubernetes,
    })
}

async fn version(State(kapis): State<Arc<Kapis>>) -> Response {
    ok(&document(&kapis.app.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_kubesphere_and_kubernetes() {
        let doc = document(&json!({"gitVersion": "v1.33.0+ks-rs.0.1.0"}));
        assert_eq!(doc["gitVersion"], "v3.4.1");
        assert_eq!(doc["gitMajor"], "3");
        assert_eq!(doc["gitMinor"], "4");
        assert_eq!(doc["kubernetes"]["gitVersion"], "v1.33.0+ks-rs.0.1.0");
        assert_eq!(doc["ksRsVersion"], env!("CARGO_PKG_VERSION"));
    }
}
