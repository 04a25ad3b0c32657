//! Entry points for fuzz targets (`fuzz/fuzz_targets/`) and the tests that
//! replay their corpora. Not part of the stable API.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cluster::Cluster;
use crate::decode::{self, Mode};
use crate::error::Format;
use crate::iam::{
    GlobalRole, GlobalRoleBinding, Group, GroupBinding, LoginRecord, User, WorkspaceRole,
    WorkspaceRoleBinding,
};
use crate::resource::{KindInfo, List};
use crate::tenant::{Workspace, WorkspaceTemplate};
use crate::validation::Validate;

/// Decodes `data` as every kind (and as a list of users), as JSON and as
/// YAML, tolerantly and strictly. Whatever decodes is validated and encoded
/// again, and the JSON encoding must decode back. Must never panic.
pub fn decode_all(data: &[u8]) {
    exercise::<User>(data);
    exercise::<GlobalRole>(data);
    exercise::<WorkspaceRole>(data);
    exercise::<GlobalRoleBinding>(data);
    exercise::<WorkspaceRoleBinding>(data);
    exercise::<LoginRecord>(data);
    exercise::<Group>(data);
    exercise::<GroupBinding>(data);
    exercise::<Workspace>(data);
    exercise::<WorkspaceTemplate>(data);
    exercise::<Cluster>(data);
    for format in [Format::Json, Format::Yaml] {
        for mode in [Mode::Tolerant, Mode::Strict] {
            let _ = decode::decode::<List<User>>(data, format, mode);
        }
    }
}

fn exercise<K>(data: &[u8])
where
    K: DeserializeOwned + Serialize + KindInfo + Validate,
{
    for format in [Format::Json, Format::Yaml] {
        for mode in [Mode::Tolerant, Mode::Strict] {
            let Ok(object) = decode::decode::<K>(data, format, mode) else {
                continue;
            };
            let errors = object.validate();
            // Rendering every error exercises the Display impls.
            let _ = errors.to_string();
            if let Ok(json) = decode::to_json(&object) {
                // What we write, we must read back.
                let _ = decode::from_json_strict::<K>(json.as_bytes());
            }
            let _ = decode::to_yaml(&object);
        }
    }
}
