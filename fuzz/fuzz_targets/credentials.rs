//! What a client sends to authenticate: the `Authorization` header, the
//! `/oauth/token` form, the server's JWTs and the `Impersonate-*` headers
//! (the first byte picks which). Must never panic, and a token verifies
//! only if this key signed it. The seed corpus is
//! `fuzz/corpus/credentials/`; `cargo test -p ks-apiserver` replays it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ks_apiserver::fuzzing::check_credentials(data);
});
