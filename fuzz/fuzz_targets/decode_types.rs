//! Decodes arbitrary bytes as every ks-types kind, as JSON and YAML, in
//! tolerant and strict mode. Must never panic. The seed corpus is
//! `fuzz/corpus/decode_types/`; `cargo test -p ks-types` replays it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ks_types::fuzzing::decode_all(data);
});
