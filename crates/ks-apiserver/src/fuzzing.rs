//! Entry point for the `apiserver_body` fuzz target: request bodies of
//! every kind the server decodes through decoding, patching, the kinds'
//! strategies and KubeSphere's own validation. None of it may panic,
//! whatever the bytes. See `ks_kube_api::fuzzing` for the input format.

/// Runs one fuzz input. Never panics.
pub fn check_request_body(data: &[u8]) {
    ks_kube_api::fuzzing::check_request_body_with(data, &|def, obj| {
        let _ = crate::admission::validate(def, obj);
    });
}
