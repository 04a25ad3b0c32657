//! Replays the `decode_types` fuzz corpus through the fuzz entry point, so
//! plain `cargo test` catches regressions on every input fuzzing found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn replay_decode_types_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_types");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            ks_types::fuzzing::decode_all(&data);
            count += 1;
        }
    }
    assert!(
        count >= 10,
        "expected the seed corpus in {}, found {count} files",
        dir.display()
    );
}

#[test]
fn seed_objects_decode_strictly() {
    // The well-formed seeds are real objects, not just noise: they must
    // decode strictly as their kind.
    use ks_types::decode::{from_json_strict, from_yaml_strict};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_types");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    from_yaml_strict::<ks_types::User>(&read("user.yaml")).unwrap();
    from_json_strict::<ks_types::GlobalRole>(&read("globalrole.json")).unwrap();
    from_yaml_strict::<ks_types::WorkspaceRoleBinding>(&read("workspacerolebinding.yaml")).unwrap();
    from_json_strict::<ks_types::LoginRecord>(&read("loginrecord.json")).unwrap();
    from_yaml_strict::<ks_types::WorkspaceTemplate>(&read("workspacetemplate.yaml")).unwrap();
    from_yaml_strict::<ks_types::Cluster>(&read("cluster.yaml")).unwrap();
    from_json_strict::<ks_types::UserList>(&read("userlist.json")).unwrap();
}
