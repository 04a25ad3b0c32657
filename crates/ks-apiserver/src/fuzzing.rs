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

use crate::admission::{self, Operation};
use crate::api::params::FieldValidation;
use crate::resources::{Registry, ResourceDef};

fn defs() -> &'static [std::sync::Arc<ResourceDef>] {
    static DEFS: std::sync::OnceLock<Vec<std::sync::Arc<ResourceDef>>> = std::sync::OnceLock::new();
    DEFS.get_or_init(build_defs)
}

fn build_defs() -> Vec<std::sync::Arc<ResourceDef>> {
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
    registry.view().all().cloned().collect()
}

/// Runs one fuzz input. Never panics.
pub fn check_request_body(data: &[u8]) {
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
                if let Ok(mut obj) = crate::api::decode_body(body, content_type) {
                    let _ = admission::admit(def, &mut obj, None, Operation::Create, validation);
                    let _ = admission::admit(
                        def,
                        &mut obj.clone(),
                        Some(&base),
                        Operation::Update,
                        validation,
                    );
                }
            }
        }
        n => {
            use crate::patch::{PatchKind, apply_patch, strategic_schema};
            let kind =
                [PatchKind::Merge, PatchKind::Json, PatchKind::Strategic][usize::from(n - 1)];
            let schema = strategic_schema(&def.group, &def.kind);
            if let Ok(mut patched) = apply_patch(kind, &base, body, schema) {
                let _ = admission::admit(
                    def,
                    &mut patched,
                    Some(&base),
                    Operation::Update,
                    validation,
                );
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
