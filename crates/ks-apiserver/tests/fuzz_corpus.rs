//! Replays the `apiserver_body` and `credentials` fuzz corpora through the
//! fuzz entry points, so every input the fuzzer kept (and every crash it
//! found, once fixed) stays a regression test on stable.

use std::path::PathBuf;

#[test]
fn replay_apiserver_body_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/apiserver_body");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        ks_apiserver::fuzzing::check_request_body(&data);
        count += 1;
    }
    assert!(
        count >= 50,
        "expected the seed corpus in {}, found {count} files",
        dir.display()
    );
}

#[test]
fn replay_credentials_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/credentials");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        ks_apiserver::fuzzing::check_credentials(&data);
        count += 1;
    }
    assert!(
        count >= 30,
        "expected the seed corpus in {}, found {count} files",
        dir.display()
    );
}
