//! Entry points of the fuzz targets over ks-apiserver's parsers:
//! `apiserver_body` (request bodies of every kind through decoding,
//! patching, the kinds' strategies and KubeSphere's own validation; see
//! `ks_kube_api::fuzzing` for the input format) and `credentials` (the
//! `Authorization` header, the token form, the server's JWTs and the
//! `Impersonate-*` headers). None of it may panic, whatever the bytes.

/// Runs one fuzz input. Never panics.
pub fn check_request_body(data: &[u8]) {
    ks_kube_api::fuzzing::check_request_body_with(data, &|def, obj| {
        let _ = crate::admission::validate(def, obj);
    });
}

/// The key the `credentials` target's tokens are signed with (the seed
/// corpus holds tokens signed with it, so the fuzzer reaches the claims).
pub const FUZZ_TOKEN_KEY: &[u8] = b"ks-rs fuzzing key, never used to serve";

/// Runs one `credentials` input: the first byte picks the parser, the
/// rest is its input. Never panics; checks what each parser promises.
pub fn check_credentials(data: &[u8]) {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(crate::authn::Credentials::Basic { user, .. }) =
                crate::authn::parse_authorization(input)
            {
                assert!(!user.is_empty(), "basic credentials without a user");
            }
        }
        1 => {
            let _ = crate::oauth::parse_form(input);
        }
        2 => {
            let Ok(token) = std::str::from_utf8(input) else {
                return;
            };
            let codec = crate::authn::jwt::TokenCodec::new(FUZZ_TOKEN_KEY, "kubesphere");
            if let Ok(claims) = codec.verify(token, 1_000_000) {
                // Only what this key signed verifies: re-signing the claims
                // must give a token that verifies to the same claims.
                let again = codec.sign(&claims);
                assert_eq!(codec.verify(&again, 1_000_000).ok(), Some(claims));
            }
        }
        _ => {
            // One header per line: `name: value`.
            let mut headers = http::HeaderMap::new();
            for line in input.split(|&b| b == b'\n').take(64) {
                let Some(colon) = line.iter().position(|&b| b == b':') else {
                    continue;
                };
                let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(&line[..colon]),
                    http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
                ) else {
                    continue;
                };
                headers.append(name, value);
            }
            if let Ok(user) = crate::filters::impersonated_user(&headers) {
                assert!(!user.name.is_empty(), "impersonation without a user");
            }
        }
    }
}
