//! Entry point for the `apiserver_body` fuzz target: request bodies of
//! every kind the server decodes (JSON, YAML, Kubernetes protobuf) and every
//! patch format, through the same decoding, patching and admission code the
//! handlers run. None of it may panic, whatever the bytes.
//!
//! The first byte picks what the rest is: its low bits choose the resource
//! (a built-in kind, a KubeSphere kind, or a schema-less custom resource),
//! the next bits the body format (a whole object, or a patch of one of the
//! four kinds applied to a fixed object of that resource).

use serde_json::{Value, json};

use crate::api::params::FieldValidation;
use crate::api::write::validate_object;
use crate::resources::{Registry, ResourceDef};

fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(build_registry)
}

fn view() -> &'static crate::resources::RegistryView {
    static VIEW: std::sync::OnceLock<std::sync::Arc<crate::resources::RegistryView>> =
        std::sync::OnceLock::new();
    VIEW.get_or_init(|| registry().view())
}

fn defs() -> &'static [std::sync::Arc<ResourceDef>] {
    static DEFS: std::sync::OnceLock<Vec<std::sync::Arc<ResourceDef>>> = std::sync::OnceLock::new();
    DEFS.get_or_init(build_defs)
}

fn build_defs() -> Vec<std::sync::Arc<ResourceDef>> {
    view().all().cloned().collect()
}

fn build_registry() -> Registry {
    let registry = Registry::with_builtins();
    let mut crds = Vec::new();
    for crd in ks_types::crd::crds() {
        if let Ok(value) = serde_json::to_value(&crd) {
            let name = crate::object::meta_str(&value, "name").to_owned();
            crds.push((name, crate::crd::crd_defs(&value)));
        }
    }
    let custom = json!({
        "metadata": {"name": "things.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Thing", "plural": "things"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}}]}
    });
    crds.push((
        "things.example.com".to_owned(),
        crate::crd::crd_defs(&custom),
    ));
    registry.set_all_crds(crds);
    registry
}

/// Runs one fuzz input. Never panics.
pub fn check_request_body(data: &[u8]) {
    check_request_body_with(data, &|_, _| {});
}

/// Runs one fuzz input through the strategies and then `extra` (a server's
/// own validation of an object the strategy accepted). Never panics.
pub fn check_request_body_with(data: &[u8], extra: &dyn Fn(&ResourceDef, &Value)) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let defs = defs();
    let def = &defs[usize::from(selector & 0x1f) % defs.len()];
    let validation = match (selector >> 7) & 1 {
        0 => FieldValidation::Strict,
        _ => FieldValidation::Warn,
    };
    let base = json!({
        "apiVersion": def.api_version(),
        "kind": def.kind,
        "metadata": {"name": "fuzz", "namespace": "default", "labels": {"a": "b"}, "finalizers": ["x.io/y"]},
        "data": {"k": "v"},
        "spec": {},
    });
    match (selector >> 5) & 0x3 {
        0 => {
            // A whole object, in the body formats the server accepts.
            for content_type in [
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
            ] {
                if let Ok(mut obj) = crate::api::decode_body(body, content_type, view()) {
                    let mut updated = obj.clone();
                    if validate_object(def, &mut obj, None, validation).is_ok() {
                        extra(def, &obj);
                    }
                    if validate_object(def, &mut updated, Some(&base), validation).is_ok() {
                        extra(def, &updated);
                    }
                }
            }
        }
        n => {
            use crate::patch::{PatchKind, apply_patch};
            let kind =
                [PatchKind::Merge, PatchKind::Json, PatchKind::Strategic][usize::from(n - 1)];
            let schema = def.strategy.strategic_merge();
            if let Ok(mut patched) = apply_patch(kind, &base, body, schema)
                && validate_object(def, &mut patched, Some(&base), validation).is_ok()
            {
                extra(def, &patched);
            }
        }
    }
}

/// The fuzz input that sends `body` as a whole JSON object of resource
/// number `resource` (for seeding corpora).
pub fn object_input(resource: u8, body: &Value) -> Vec<u8> {
    let mut out = vec![resource & 0x1f];
    out.extend_from_slice(body.to_string().as_bytes());
    out
}
