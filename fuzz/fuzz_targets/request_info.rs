//! Fuzzes the request-target parser: `METHOD TARGET` on the first line.
//! The same entry point is replayed over `corpus/request_info/` by
//! `crates/ks-request-info/tests/corpus_replay.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ks_request_info::fuzzing::check_request_info(data);
});
