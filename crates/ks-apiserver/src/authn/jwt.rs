//! The server's own tokens: JWTs signed with HMAC-SHA256, carrying
//! KubeSphere's claims (`username`, `token_type`, `extra`, and the
//! registered `iss`, `sub`, `iat`, `exp`).
//!
//! Only one algorithm is ever accepted, HS256, so verification is the
//! HMAC check over the first two segments plus a header check; a general
//! JOSE library would add RSA and ECDSA code this server never runs, and
//! every `alg` it can verify is one more to get confused about. The
//! header must say `HS256` (anything else, including `none`, is refused
//! before the signature is looked at) and the signature is compared in
//! constant time by ring.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// Longest token accepted, in bytes: far above any token this server
/// issues, far below a header-size attack.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What a token is for. KubeSphere 3.x also issues authorization codes
/// and accepts refresh tokens as bearer tokens; here only
/// [`TokenType::Access`] authenticates a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenType {
    /// Authenticates requests.
    #[serde(rename = "access_token")]
    Access,
    /// Buys a new token pair at `/oauth/token`.
    #[serde(rename = "refresh_token")]
    Refresh,
    /// An OAuth authorization code (never issued yet; parsed so that one
    /// from KubeSphere is refused by type rather than by decoding).
    #[serde(rename = "code")]
    Code,
}

/// A token's claims, named as KubeSphere names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name.
    pub username: String,
    /// What the token is for.
    pub token_type: TokenType,
    /// Extra user information (KubeSphere puts e.g. the email here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
    /// The issuer.
    pub iss: String,
    /// The subject: the user name again.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch; absent means never (not issued
    /// here, refused when verifying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// Why a token was refused. The message never includes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url segments of JSON, or too long.
    #[error("malformed token")]
    Malformed,
    /// The header names another algorithm (or none).
    #[error("unexpected signing algorithm")]
    Algorithm,
    /// The signature does not verify.
    #[error("invalid token signature")]
    Signature,
    /// Issued by someone else.
    #[error("token issuer is not accepted")]
    Issuer,
    /// Past `exp`, or without one.
    #[error("token has expired")]
    Expired,
    /// Issued in the future (beyond the allowed clock skew).
    #[error("token is not valid yet")]
    NotYetValid,
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    alg: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// Signs and verifies tokens with one secret.
pub struct TokenCodec {
    key: hmac::Key,
    issuer: String,
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCodec")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// Seconds a token's `iat` may lie in the future (clocks of several
/// servers sharing a secret disagree a little).
const CLOCK_SKEW: i64 = 60;

impl TokenCodec {
    /// A codec for `secret` that issues and accepts tokens of `issuer`.
    pub fn new(secret: &[u8], issuer: impl Into<String>) -> Self {
        TokenCodec {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            issuer: issuer.into(),
        }
    }

    /// The issuer this codec signs as.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signed token for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        // Serializing these structs cannot fail: string keys, no maps with
        // non-string keys, no floats.
        let header = serde_json::to_vec(&Header {
            alg: "HS256",
            typ: Some("JWT"),
        })
        .unwrap_or_default();
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = hmac::sign(&self.key, token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        token
    }

    /// The claims of a token this codec signed, if it is valid at `now`
    /// (seconds since the epoch). The type is not checked here.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signed = &token[..header.len() + 1 + payload.len()];
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let header: Header<'_> =
            serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if header.alg != "HS256" {
            return Err(TokenError::Algorithm);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        hmac::verify(&self.key, signed.as_bytes(), &signature)
            .map_err(|_| TokenError::Signature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer {
            return Err(TokenError::Issuer);
        }
        match claims.exp {
            Some(exp) if exp > now => {}
            _ => return Err(TokenError::Expired),
        }
        if claims.iat > now + CLOCK_SKEW {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(token_type: TokenType) -> Claims {
        Claims {
            username: "alice".into(),
            token_type,
            extra: BTreeMap::new(),
            iss: "kubesphere".into(),
            sub: "alice".into(),
            iat: 1_000,
            exp: Some(8_200),
        }
    }

    fn codec() -> TokenCodec {
        TokenCodec::new(b"0123456789abcdef0123456789abcdef", "kubesphere")
    }

    fn encode_json(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = codec().sign(&claims(TokenType::Access));
        assert_eq!(codec().verify(&token, 1_001), Ok(claims(TokenType::Access)));
        assert_eq!(codec().verify(&token, 8_199).map(|c| c.iat), Ok(1_000));
        assert_eq!(codec().verify(&token, 8_200), Err(TokenError::Expired));
        // Claims are KubeSphere's names.
        let payload = token.split('.').nth(1).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(json["username"], "alice");
        assert_eq!(json["token_type"], "access_token");
        assert_eq!(json["iss"], "kubesphere");
        assert_eq!(json["sub"], "alice");
    }

    #[test]
    fn tampering_another_key_or_issuer_is_refused() {
        let token = codec().sign(&claims(TokenType::Access));
        let other = TokenCodec::new(b"another secret of enough length!", "kubesphere");
        assert_eq!(other.verify(&token, 1_001), Err(TokenError::Signature));
        let foreign = TokenCodec::new(b"0123456789abcdef0123456789abcdef", "elsewhere");
        assert_eq!(foreign.verify(&token, 1_001), Err(TokenError::Issuer));

        // A payload swapped for admin's keeps the old signature.
        let mut forged = claims(TokenType::Access);
        forged.username = "admin".into();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            codec().verify(&parts.join("."), 1_001),
            Err(TokenError::Signature)
        );
        // A flipped signature bit.
        let mut bytes = token.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            codec().verify(&String::from_utf8(bytes).unwrap(), 1_001),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn algorithm_confusion_is_refused_before_the_signature() {
        let payload = encode_json(&serde_json::to_value(claims(TokenType::Access)).unwrap());
        for alg in ["none", "HS384", "RS256", "hs256", ""] {
            let header = encode_json(&serde_json::json!({"alg": alg, "typ": "JWT"}));
            for signature in ["", "AAAA"] {
                let token = format!("{header}.{payload}.{signature}");
                assert_eq!(
                    codec().verify(&token, 1_001),
                    Err(TokenError::Algorithm),
                    "{alg}"
                );
            }
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = codec().sign(&claims(TokenType::Access));
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.e30.e30",
            &format!("{token}.x"),
            &long,
        ] {
            assert_eq!(
                codec().verify(bad, 1_001),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_without_expiry_or_from_the_future_are_refused() {
        let mut c = claims(TokenType::Access);
        c.exp = None;
        assert_eq!(
            codec().verify(&codec().sign(&c), 1_001),
            Err(TokenError::Expired)
        );
        let c = claims(TokenType::Access);
        assert_eq!(
            codec().verify(&codec().sign(&c), 1_000 - CLOCK_SKEW - 1),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn the_type_travels_in_the_token() {
        for t in [TokenType::Access, TokenType::Refresh, TokenType::Code] {
            let token = codec().sign(&claims(t));
            assert_eq!(codec().verify(&token, 1_001).map(|c| c.token_type), Ok(t));
        }
    }
}
