//! Decodes a policy (YAML, then optionally `%%` and JSON attribute lines)
//! and checks that the compiled snapshot and the reference evaluator agree
//! on every request, without panicking.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ks_rbac::fuzzing::check_policy(data);
});
