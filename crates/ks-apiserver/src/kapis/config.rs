//! `config.kubesphere.io/v1alpha2`: `GET configs/oauth`,
//! `GET configs/configz` and `GET configs/gpu/kinds`, public (KubeSphere
//! serves `/kapis/config.kubesphere.io/*` to anonymous callers: its
//! console's server fetches them before anyone logs in, and on every page).
//!
//! `configs/oauth` is KubeSphere's `oauthOptions` as its JSON names them
//! (`issuer`, `identityProviders`, `clients`, `accessTokenMaxAge`,
//! `accessTokenInactivityTimeout`, durations in nanoseconds as Go encodes
//! a `time.Duration`), without what KubeSphere leaks there: no signing key
//! path, and clients by name only (KubeSphere hides the secret too).
//! ks-rs has no external identity providers, so the list is empty.
//!
//! `configs/configz` says which of KubeSphere's components are enabled,
//! with the keys KubeSphere 3.4 reports. ks-rs serves authentication,
//! authorization and the Kubernetes API; every other component is
//! reported disabled, including `openpitrix`, which KubeSphere always
//! reports enabled: ks-rs serves no App Store, and a console that believed
//! otherwise would show menus that fail.
//!
//! `configs/gpu/kinds` is the `gpu.kinds` list of `kubesphere.yaml` (the
//! GPU resources the console offers in container forms), `[]` without one,
//! as in KubeSphere.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Kapis, ok};

/// The public login settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthSettings {
    /// The tokens' issuer (`iss`).
    pub issuer: String,
    /// The OAuth clients' names (never their secrets).
    pub clients: Vec<String>,
    /// An access token's lifetime.
    pub access_token_max_age: Duration,
    /// How long a refresh token outlives its access token.
    pub access_token_inactivity_timeout: Duration,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        let tokens = crate::authn::TokenPolicy::default();
        OAuthSettings {
            issuer: "kubesphere".to_owned(),
            clients: vec!["kubesphere".to_owned()],
            access_token_max_age: tokens.access_max_age,
            access_token_inactivity_timeout: tokens.inactivity_timeout,
        }
    }
}

impl OAuthSettings {
    /// The `configs/oauth` document.
    pub fn document(&self) -> Value {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        json!({
            "issuer": self.issuer,
            "identityProviders": [],
            "clients": self.clients.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
            "accessTokenMaxAge": nanos(self.access_token_max_age),
            "accessTokenInactivityTimeout": nanos(self.access_token_inactivity_timeout),
        })
    }
}

/// Which components are enabled, by KubeSphere's `configz` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configz(pub BTreeMap<&'static str, bool>);

/// Every key KubeSphere 3.4's `configs/configz` reports.
pub const CONFIGZ_KEYS: [&str; 26] = [
    "alerting",
    "auditing",
    "authentication",
    "authorization",
    "cache",
    "devops",
    "edgeruntime",
    "events",
    "gateway",
    "gpu",
    "kubeedge",
    "kubernetes",
    "logging",
    "metering",
    "monitoring",
    "multicluster",
    "network",
    "network.ippool",
    "network.topology",
    "notification",
    "openpitrix",
    "openpitrix.appstore",
    "s3",
    "servicemesh",
    "sonarqube",
    "terminal",
];

impl Default for Configz {
    fn default() -> Self {
        let enabled = ["authentication", "authorization", "kubernetes"];
        Configz(
            CONFIGZ_KEYS
                .iter()
                .map(|k| (*k, enabled.contains(k)))
                .collect(),
        )
    }
}

/// One of `gpu.kinds` (KubeSphere's `gpu.GPUKind`), written as KubeSphere
/// writes it: empty fields and a false `default` left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuKind {
    /// The extended resource, e.g. `nvidia.com/gpu`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_name: String,
    /// What the console calls it, e.g. `GPU`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_type: String,
    /// Whether the console lists it first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

pub(super) fn routes() -> Router<Arc<Kapis>> {
    Router::new()
        .route(
            "/kapis/config.kubesphere.io/v1alpha2/configs/oauth",
            get(oauth),
        )
        .route(
            "/kapis/config.kubesphere.io/v1alpha2/configs/configz",
            get(configz),
        )
        .route(
            "/kapis/config.kubesphere.io/v1alpha2/configs/gpu/kinds",
            get(gpu_kinds),
        )
}

async fn oauth(State(kapis): State<Arc<Kapis>>) -> Response {
    ok(&kapis.oauth.document())
}

async fn configz(State(kapis): State<Arc<Kapis>>) -> Response {
    ok(&json!(kapis.configz.0))
}

async fn gpu_kinds(State(kapis): State<Arc<Kapis>>) -> Response {
    ok(&kapis.gpu_kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_settings_carry_no_secrets_and_go_durations() {
        let doc = OAuthSettings::default().document();
        assert_eq!(doc["accessTokenMaxAge"], 7_200_000_000_000_u64);
        assert_eq!(doc["clients"], json!([{"name": "kubesphere"}]));
        assert!(doc.get("signKey").is_none());
        assert!(!doc.to_string().contains("secret"));
    }

    #[test]
    fn configz_reports_every_key_and_only_what_ks_rs_serves() {
        let configz = Configz::default();
        assert_eq!(configz.0.len(), 26);
        let enabled: Vec<_> = (configz.0.iter())
            .filter(|(_, on)| **on)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(enabled, ["authentication", "authorization", "kubernetes"]);
        assert_eq!(configz.0.get("openpitrix"), Some(&false));
    }

    #[test]
    fn gpu_kinds_are_written_as_kubesphere_writes_them() {
        let kinds: Vec<GpuKind> = serde_json::from_value(json!([
            {"resourceName": "nvidia.com/gpu", "resourceType": "GPU", "default": true},
            {"resourceName": "amd.com/gpu", "vendor": "ignored"},
        ]))
        .unwrap();
        assert_eq!(
            json!(kinds),
            json!([
                {"resourceName": "nvidia.com/gpu", "resourceType": "GPU", "default": true},
                {"resourceName": "amd.com/gpu"},
            ])
        );
    }
}
