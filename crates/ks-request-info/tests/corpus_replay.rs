//! Replays the checked-in fuzz corpus (`fuzz/corpus/request_info/`) through
//! the fuzz target's entry point on the stable toolchain, so every input the
//! fuzzer has found interesting stays a regression test.

use std::fs;
use std::path::PathBuf;

#[test]
fn replay_request_info_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/request_info");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => panic!("cannot read the corpus at {}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| match entry {
            Ok(entry) => entry.path(),
            Err(e) => panic!("cannot list {}: {e}", dir.display()),
        })
        .filter(|path| path.is_file())
        .collect();
    // A missing or emptied corpus must not pass silently.
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files.sort();
    for path in &files {
        let data = match fs::read(path) {
            Ok(data) => data,
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        };
        let outcome = std::panic::catch_unwind(|| {
            ks_request_info::fuzzing::check_request_info(&data);
        });
        assert!(outcome.is_ok(), "corpus input {} fails", path.display());
    }
    eprintln!("replayed {} corpus inputs", files.len());
}
