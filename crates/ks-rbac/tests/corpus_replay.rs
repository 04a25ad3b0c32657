//! Replays the `rbac` fuzz corpus (`fuzz/corpus/rbac/`) through the fuzz
//! entry point, so plain `cargo test` catches regressions on every input
//! fuzzing found: both evaluators must agree, and nothing may panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn replay_rbac_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rbac");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| ks_rbac::fuzzing::check_policy(&data));
            assert!(result.is_ok(), "{} fails", path.display());
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
fn seed_policies_load() {
    // The well-formed seeds are real policies, not just noise.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rbac");
    for name in [
        "seed-kubesphere.yaml",
        "seed-aggregation.yaml",
        "seed-annotation.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut policy = ks_rbac::Policy::new();
        policy
            .load_yaml(name, &text, ks_rbac::Strictness::Strict)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(policy.binding_count() > 0, "{name}");
    }
}

#[test]
fn requests_with_extra_replay() {
    // Request lines with `extra` are also decided without it; the fuzz
    // entry point panics if that changes the answer. (Extra values that
    // name a bound user and group: ignored all the same.)
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rbac");
    let policy = std::fs::read_to_string(dir.join("seed-kubesphere.yaml")).unwrap();
    let requests = [
        r#"{"user":"admin","extra":{"scopes":["view"]},"verb":"get","resource":"users","resourceScope":"Global","isResourceRequest":true}"#,
        r#"{"user":"nobody","extra":{"user":["admin"],"groups":["devs"]},"verb":"get","resource":"pods","workspace":"ws1","isResourceRequest":true}"#,
        r#"{"user":"nobody","extra":{"k":"notalist"},"verb":"get","resource":"pods"}"#,
    ];
    let input = format!(
        "{policy}{}{}",
        ks_rbac::fuzzing::SEPARATOR,
        requests.join("\n")
    );
    ks_rbac::fuzzing::check_policy(input.as_bytes());
}
