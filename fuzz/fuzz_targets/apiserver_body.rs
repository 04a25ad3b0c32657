//! Request bodies (JSON, YAML, protobuf objects and all patch formats) of
//! every resource kind, through ks-apiserver's decoding, patching and
//! admission. Must never panic. The seed corpus is
//! `fuzz/corpus/apiserver_body/`; `cargo test -p ks-apiserver` replays it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ks_apiserver::fuzzing::check_request_body(data);
});
