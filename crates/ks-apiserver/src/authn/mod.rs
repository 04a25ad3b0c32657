//! Authentication: who is making a request.
//!
//! A union, as in Kubernetes and KubeSphere: the first authenticator that
//! recognizes the request's credentials decides, and credentials it
//! recognizes but refuses are a 401, on every path.
//!
//! 1. A client certificate the TLS layer verified against the server's CA
//!    (subject CN = user, O = groups), as kube-apiserver reads one. The
//!    kubeconfig the server writes authenticates its bootstrap admin so.
//! 2. `Authorization: Bearer` with an access token this server issued
//!    ([`jwt`]); refresh tokens and codes are refused here, as are
//!    revoked tokens and tokens of users that no longer exist or are
//!    disabled.
//! 3. `Authorization: Basic` with a user's password ([`login`]), bcrypt
//!    checked once per credential ([`users::PasswordCache`]).
//! 4. Nothing: `system:anonymous` in `system:unauthenticated`, which the
//!    chain lets through to the public paths only.

pub mod jwt;
pub mod login;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ks_kube_api::UserInfo;
use serde::Serialize;

use self::jwt::{Claims, TokenCodec, TokenError, TokenType};
use self::login::{LoginError, LoginSource, LoginType, Logins};
use self::users::{Revocations, UserRecord, Users};
use crate::context::Connection;

/// bcrypt's cost for stored passwords (Go's `bcrypt.DefaultCost`, what
/// KubeSphere uses).
pub const BCRYPT_COST: u32 = 10;

/// Hashes `password` with bcrypt at [`BCRYPT_COST`], in the `$2a$` form
/// KubeSphere's Go code writes (golang.org/x/crypto/bcrypt), so stored
/// users look the same whichever server hashed them.
pub fn hash_password(password: &str) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash_with_result(password, BCRYPT_COST)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
}

/// The anonymous user's name.
pub const ANONYMOUS: &str = "system:anonymous";
/// The anonymous user's group.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The group of every authenticated user.
pub const AUTHENTICATED: &str = "system:authenticated";

/// The longest `Authorization` header accepted.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;

/// Credentials from an `Authorization` header.
#[derive(PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Bearer TOKEN`.
    Bearer(&'a str),
    /// `Basic base64(user:password)`.
    Basic {
        /// The user name (or email).
        user: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::Basic { user, .. } => write!(f, "Basic({user:?}, <redacted>)"),
        }
    }
}

/// Why a request's credentials were refused: always a 401 (429 for a
/// locked user). The messages never contain a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthnError {
    /// An `Authorization` header that is not `Bearer` or `Basic` with a
    /// well-formed value.
    #[error("malformed Authorization header")]
    Malformed,
    /// A bearer token that does not verify.
    #[error("invalid bearer token: {0}")]
    Token(#[from] TokenError),
    /// A refresh token or code used as a bearer token.
    #[error("invalid bearer token: not an access token")]
    NotAnAccessToken,
    /// A token revoked by logout, a password change or disabling the user.
    #[error("invalid bearer token: the token has been revoked")]
    Revoked,
    /// A token of a user that is gone or disabled.
    #[error("invalid bearer token: the user does not exist or is disabled")]
    UserGone,
    /// Basic authentication failed.
    #[error("{0}")]
    Login(#[from] LoginError),
}

impl AuthnError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            AuthnError::Login(LoginError::Locked { .. }) => http::StatusCode::TOO_MANY_REQUESTS,
            AuthnError::Login(LoginError::Internal(_)) => http::StatusCode::INTERNAL_SERVER_ERROR,
            _ => http::StatusCode::UNAUTHORIZED,
        }
    }
}

/// Reads an `Authorization` header value. Scheme names are
/// case-insensitive; anything but one `Bearer` token or one `Basic`
/// credential is refused, not ignored.
pub fn parse_authorization(value: &[u8]) -> Result<Credentials<'_>, AuthnError> {
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(AuthnError::Malformed);
    }
    let value = std::str::from_utf8(value).map_err(|_| AuthnError::Malformed)?;
    let (scheme, rest) = value.split_once(' ').ok_or(AuthnError::Malformed)?;
    let rest = rest.trim_matches(' ');
    if rest.is_empty() || rest.contains(|c: char| c.is_ascii_whitespace() || c.is_control()) {
        return Err(AuthnError::Malformed);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Credentials::Bearer(rest));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).map_err(|_| AuthnError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthnError::Malformed)?;
        let (user, password) = decoded.split_once(':').ok_or(AuthnError::Malformed)?;
        if user.is_empty() {
            return Err(AuthnError::Malformed);
        }
        return Ok(Credentials::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        });
    }
    Err(AuthnError::Malformed)
}

/// Token lifetimes and login policy (KubeSphere's `oauthOptions` and
/// `multipleLogin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Lifetime of an access token (`accessTokenMaxAge`, default 2h).
    pub access_max_age: Duration,
    /// How long after the access token expires its refresh token still
    /// works (`accessTokenInactivityTimeout`, default 2h).
    pub inactivity_timeout: Duration,
    /// Whether a user may hold several sessions (`multipleLogin`, default
    /// true); when false, a login revokes the user's earlier tokens.
    pub multiple_login: bool,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            access_max_age: Duration::from_secs(2 * 3600),
            inactivity_timeout: Duration::from_secs(2 * 3600),
            multiple_login: true,
        }
    }
}

/// What `/oauth/token` answers (RFC 6749 section 5.1, KubeSphere's shape).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The token that buys the next pair.
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Issues, verifies and revokes the server's tokens.
#[derive(Debug)]
pub struct Tokens {
    codec: TokenCodec,
    policy: TokenPolicy,
    users: Arc<Users>,
    revocations: Arc<Revocations>,
    verified: TokenCache,
}

/// Access tokens verified before, so that a client sending the same token
/// on every request pays the signature check and the claims decoding
/// once. An entry is found by a fast hash of the token and used only if
/// the whole token is equal (a hash collision never authenticates
/// anyone); expiry, revocation and the user's current record are checked
/// on every hit.
#[derive(Default)]
struct TokenCache {
    entries: std::sync::RwLock<rustc_hash::FxHashMap<u64, Arc<Verified>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

/// How many verified tokens are kept (a full cache starts over).
const TOKEN_CACHE_CAPACITY: usize = 16 * 1024;

struct Verified {
    token: Box<str>,
    iat: i64,
    exp: i64,
    user: Arc<UserRecord>,
    info: UserInfo,
}

fn token_hash(token: &str) -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = rustc_hash::FxBuildHasher.build_hasher();
    hasher.write(token.as_bytes());
    hasher.finish()
}

impl Tokens {
    /// Tokens signed by `codec` for `users`.
    pub fn new(
        codec: TokenCodec,
        policy: TokenPolicy,
        users: Arc<Users>,
        revocations: Arc<Revocations>,
    ) -> Self {
        Tokens {
            codec,
            policy,
            users,
            revocations,
            verified: TokenCache::default(),
        }
    }

    /// The lifetimes in force.
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// A new token pair for `user`, issued at `now` (seconds). With
    /// `multipleLogin: false` the user's earlier tokens are revoked first.
    pub async fn issue(&self, user: &UserRecord, now: i64) -> Result<TokenPair, AuthnError> {
        if !self.policy.multiple_login {
            self.revoke_all(&user.name, now).await?;
        }
        Ok(self.issue_for(user, now, self.policy.access_max_age))
    }

    /// A token pair whose access token lives `lifetime` (the refresh
    /// token the inactivity timeout longer), revoking nothing: for the
    /// server's own kubeconfig.
    pub fn issue_for(&self, user: &UserRecord, now: i64, lifetime: Duration) -> TokenPair {
        let iat = self.revocations.issue_time(&user.name, now);
        let access = lifetime.as_secs() as i64;
        let refresh = access + self.policy.inactivity_timeout.as_secs() as i64;
        let mut extra = std::collections::BTreeMap::new();
        if !user.email.is_empty() {
            extra.insert("email".to_owned(), vec![user.email.clone()]);
        }
        let claims = |token_type, lifetime: i64| Claims {
            username: user.name.clone(),
            token_type,
            extra: extra.clone(),
            iss: self.codec.issuer().to_owned(),
            sub: user.name.clone(),
            iat,
            exp: Some(iat + lifetime),
        };
        TokenPair {
            access_token: self.codec.sign(&claims(TokenType::Access, access)),
            token_type: "Bearer",
            refresh_token: self.codec.sign(&claims(TokenType::Refresh, refresh)),
            expires_in: access as u64,
        }
    }

    /// The user of a valid, unrevoked token of `token_type` at `now`.
    pub fn verify(
        &self,
        token: &str,
        token_type: TokenType,
        now: i64,
    ) -> Result<(Claims, Arc<UserRecord>), AuthnError> {
        let claims = self.codec.verify(token, now)?;
        if claims.token_type != token_type {
            return Err(AuthnError::NotAnAccessToken);
        }
        if self.revocations.is_revoked(&claims.username, claims.iat) {
            return Err(AuthnError::Revoked);
        }
        let user = self
            .users
            .get(&claims.username)
            .filter(|u| !u.is_disabled())
            .ok_or(AuthnError::UserGone)?;
        Ok((claims, user))
    }

    /// The user of a valid, unrevoked access token at `now`: what a
    /// bearer token authenticates as. Cached (see `TokenCache`).
    pub fn authenticate_access(&self, token: &str, now: i64) -> Result<UserInfo, AuthnError> {
        let hash = token_hash(token);
        let hit = self
            .verified
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&hash)
            .filter(|v| &*v.token == token)
            .cloned();
        if let Some(v) = hit
            && v.exp > now
        {
            if self.revocations.is_revoked(&v.user.name, v.iat) {
                return Err(AuthnError::Revoked);
            }
            // The user as it is now: the same record, or decide afresh.
            if let Some(current) = self.users.get(&v.user.name)
                && Arc::ptr_eq(&current, &v.user)
                && !current.is_disabled()
            {
                return Ok(v.info.clone());
            }
        }
        let (claims, user) = self.verify(token, TokenType::Access, now)?;
        let info = user_info(&user);
        let verified = Arc::new(Verified {
            token: token.into(),
            iat: claims.iat,
            exp: claims.exp.unwrap_or(0),
            user,
            info: info.clone(),
        });
        let mut entries = self
            .verified
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= TOKEN_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(hash, verified);
        Ok(info)
    }

    /// Revokes every token of `user` issued up to `now`.
    pub async fn revoke_all(&self, user: &str, now: i64) -> Result<(), AuthnError> {
        self.revocations
            .revoke_all(user, now)
            .await
            .map_err(|e| AuthnError::Login(LoginError::Internal(e.to_string())))
    }
}

/// The user of an authenticated request: name, uid, the user's
/// `spec.groups` and `system:authenticated`, and the email as extra, as
/// KubeSphere's authenticators fill it in. Groups named `system:...` are
/// Kubernetes' own (`system:masters` passes every check) and are never
/// taken from a user object.
pub fn user_info(user: &UserRecord) -> UserInfo {
    let groups = user
        .groups
        .iter()
        .map(String::as_str)
        .filter(|g| !g.starts_with("system:"))
        .chain([AUTHENTICATED]);
    let mut info = UserInfo::new(user.name.clone(), groups);
    info.uid = user.uid.clone();
    if !user.email.is_empty() {
        info.extra
            .insert("email".to_owned(), vec![user.email.clone()]);
    }
    info
}

/// The anonymous user.
pub fn anonymous() -> UserInfo {
    UserInfo::new(ANONYMOUS, [UNAUTHENTICATED])
}

/// The authenticator union.
#[derive(Debug)]
pub struct Authenticator {
    /// The server's tokens.
    pub tokens: Arc<Tokens>,
    /// Password logins.
    pub logins: Arc<Logins>,
}

/// Which authenticator recognized a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A client certificate.
    Certificate,
    /// A bearer token.
    Token,
    /// Basic authentication.
    Basic,
    /// No credentials.
    Anonymous,
}

impl Method {
    /// A label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Certificate => "x509",
            Method::Token => "token",
            Method::Basic => "basic",
            Method::Anonymous => "anonymous",
        }
    }
}

impl Authenticator {
    /// Who sent a request with these headers on this connection.
    pub async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        connection: Option<&Connection>,
        source: &LoginSource,
    ) -> Result<(UserInfo, Method), AuthnError> {
        if let Some(cert) = connection.and_then(|c| c.client_certificate.as_deref()) {
            let mut groups = cert.groups.clone();
            if !groups.iter().any(|g| g == AUTHENTICATED) {
                groups.push(AUTHENTICATED.to_owned());
            }
            return Ok((
                UserInfo::new(cert.user.clone(), groups),
                Method::Certificate,
            ));
        }
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok((anonymous(), Method::Anonymous));
        };
        if values.next().is_some() {
            // Two Authorization headers: which one counts is ambiguous.
            return Err(AuthnError::Malformed);
        }
        let now = jiff::Timestamp::now().as_second();
        match parse_authorization(value.as_bytes())? {
            Credentials::Bearer(token) => {
                Ok((self.tokens.authenticate_access(token, now)?, Method::Token))
            }
            Credentials::Basic { user, password } => {
                let user = self
                    .logins
                    .login(&user, &password, LoginType::Basic, source)
                    .await?;
                Ok((user_info(&user), Method::Basic))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers() {
        assert_eq!(
            parse_authorization(b"Bearer abc.def.ghi"),
            Ok(Credentials::Bearer("abc.def.ghi"))
        );
        assert_eq!(
            parse_authorization(b"bearer   abc"),
            Ok(Credentials::Bearer("abc"))
        );
        // "alice:P@88:w0rd": the password may contain colons.
        assert_eq!(
            parse_authorization(b"Basic YWxpY2U6UEA4ODp3MHJk"),
            Ok(Credentials::Basic {
                user: "alice".into(),
                password: "P@88:w0rd".into()
            })
        );
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_LEN));
        for bad in [
            &b""[..],
            b"Bearer",
            b"Bearer ",
            b"Bearer a b",
            b"Bearer a\tb",
            b"Token abc",
            b"Negotiate abc",
            b"Basic !!!",
            b"Basic YWxpY2U=",     // "alice": no colon
            b"Basic OnNlY3JldA==", // ":secret": no user
            b"Basic /w==",         // not UTF-8
            b"\xffBearer abc",
            long.as_bytes(),
        ] {
            assert_eq!(
                parse_authorization(bad),
                Err(AuthnError::Malformed),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn user_groups_come_from_the_spec_but_never_system_ones() {
        let user = UserRecord {
            name: "alice".into(),
            uid: "u1".into(),
            email: "a@x.io".into(),
            password_hash: None,
            state: "Active".into(),
            last_transition: None,
            groups: vec!["dev".into(), "system:masters".into(), AUTHENTICATED.into()],
        };
        let info = user_info(&user);
        assert_eq!(info.groups, ["dev", AUTHENTICATED]);
        assert_eq!(info.uid, "u1");
        assert_eq!(info.extra["email"], ["a@x.io"]);
    }

    #[test]
    fn debug_output_hides_credentials() {
        let basic = parse_authorization(b"Basic YWxpY2U6UEA4ODp3MHJk").unwrap();
        assert_eq!(format!("{basic:?}"), "Basic(\"alice\", <redacted>)");
        let bearer = parse_authorization(b"Bearer secret-token").unwrap();
        assert!(!format!("{bearer:?}").contains("secret"));
        let pair = TokenPair {
            access_token: "secret-a".into(),
            token_type: "Bearer",
            refresh_token: "secret-r".into(),
            expires_in: 7200,
        };
        assert!(!format!("{pair:?}").contains("secret"));
    }
}
