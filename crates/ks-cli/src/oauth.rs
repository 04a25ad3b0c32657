//! The client side of ks-apiserver's OAuth endpoints (KubeSphere 3.2+):
//! `POST /oauth/token` with the password and refresh-token grants, and
//! `GET /oauth/logout`.
//!
//! Answers are read as RFC 6749 section 5: a token pair, or
//! `{"error", "error_description"}`. A refusal becomes a [`Refusal`] the
//! user can act on; nothing here ever prints a password or a token.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use http::StatusCode;
use serde::Deserialize;

use crate::CliError;
use crate::client::{HttpClient, Reply};

/// The token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// The logout endpoint.
pub const LOGOUT_PATH: &str = "/oauth/logout";

/// An OAuth client (`client_id`, `client_secret`).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A token pair, as the server issued it, with when it arrived.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The bearer token.
    pub access_token: String,
    /// The token that buys the next pair.
    pub refresh_token: String,
    /// Seconds the access token lives (`expires_in`).
    pub expires_in: u64,
    /// When the access token stops working, by this machine's clock: the
    /// arrival time plus `expires_in`, or the token's own `exp` claim when
    /// that is earlier (the server counts whole seconds).
    pub expires_at: jiff::Timestamp,
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why the server refused a login or a refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Wrong user name or password (`invalid_grant` to a password grant).
    BadCredentials,
    /// The user is disabled.
    Disabled,
    /// Too many failed logins; `Retry-After` seconds when the server said.
    Locked {
        /// Seconds until the lock ends.
        retry_after: Option<u64>,
    },
    /// The refresh token is expired, revoked or unknown.
    SessionExpired,
    /// No session was cached for the user at the server.
    NoSession,
    /// The OAuth client or its secret is wrong (a configuration error).
    InvalidClient,
}

impl Refusal {
    /// The exit status: 1 for a refused login, 2 for a wrong client
    /// (configuration).
    pub fn exit_code(&self) -> u8 {
        match self {
            Refusal::InvalidClient => crate::EXIT_USAGE,
            _ => crate::EXIT_REFUSED,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::BadCredentials => f.write_str("incorrect username or password"),
            Refusal::Disabled => f.write_str("the user is disabled"),
            Refusal::Locked {
                retry_after: Some(s),
            } => write!(f, "too many failed login attempts; try again in {s} s"),
            Refusal::Locked { retry_after: None } => {
                f.write_str("too many failed login attempts; try again later")
            }
            Refusal::SessionExpired => f.write_str("the session has expired or was revoked"),
            Refusal::NoSession => f.write_str("not logged in"),
            Refusal::InvalidClient => f.write_str(
                "the server refused the OAuth client: check --client-id and --client-secret",
            ),
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    expires_in: u64,
}

#[derive(Default, Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Which grant a token request was (decides what `invalid_grant` means).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grant {
    Password,
    Refresh,
}

/// The password grant: logs `username` (a name or an email) in.
pub async fn password_grant(
    http: &HttpClient,
    client: &OAuthClient,
    username: &str,
    password: &str,
) -> Result<TokenGrant, CliError> {
    let form = serde_urlencoded::to_string([
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
    ])
    .map_err(|e| CliError::Usage(format!("cannot encode the login form: {e}")))?;
    let reply = http.post_form(TOKEN_PATH, form).await?;
    token_reply(http, &reply, username, Grant::Password)
}

/// The refresh-token grant: a new pair for the refresh token of
/// `username` (named in errors only).
pub async fn refresh_grant(
    http: &HttpClient,
    client: &OAuthClient,
    username: &str,
    refresh_token: &str,
) -> Result<TokenGrant, CliError> {
    let form = serde_urlencoded::to_string([
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
    ])
    .map_err(|e| CliError::Usage(format!("cannot encode the refresh form: {e}")))?;
    let reply = http.post_form(TOKEN_PATH, form).await?;
    token_reply(http, &reply, username, Grant::Refresh)
}

/// `GET /oauth/logout` with `access_token`: the server revokes every token
/// of the user.
pub async fn logout(http: &HttpClient, access_token: &str) -> Result<(), CliError> {
    let reply = http.get(LOGOUT_PATH, Some(access_token)).await?;
    if reply.status.is_success() {
        Ok(())
    } else {
        Err(unexpected(http, &reply))
    }
}

fn token_reply(
    http: &HttpClient,
    reply: &Reply,
    username: &str,
    grant: Grant,
) -> Result<TokenGrant, CliError> {
    let received = jiff::Timestamp::now();
    if reply.status == StatusCode::OK {
        let answer: TokenAnswer =
            serde_json::from_slice(&reply.body).map_err(|e| CliError::Server {
                server: http.server().to_string(),
                message: format!("the token answer is not the JSON expected: {e}"),
            })?;
        if answer.access_token.is_empty() {
            return Err(CliError::Server {
                server: http.server().to_string(),
                message: "the token answer holds no access_token".to_owned(),
            });
        }
        let expires_at = expiry(received, answer.expires_in, &answer.access_token);
        return Ok(TokenGrant {
            access_token: answer.access_token,
            refresh_token: answer.refresh_token,
            expires_in: answer.expires_in,
            expires_at,
        });
    }
    let answer: ErrorAnswer = serde_json::from_slice(&reply.body).unwrap_or_default();
    let refusal = match (reply.status, answer.error.as_str()) {
        (StatusCode::TOO_MANY_REQUESTS, _) => Some(Refusal::Locked {
            retry_after: reply
                .headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
        }),
        (_, "invalid_client") => Some(Refusal::InvalidClient),
        (_, "invalid_grant") if answer.error_description.contains("disabled") => {
            Some(Refusal::Disabled)
        }
        (_, "invalid_grant") => Some(match grant {
            Grant::Password => Refusal::BadCredentials,
            Grant::Refresh => Refusal::SessionExpired,
        }),
        _ => None,
    };
    match refusal {
        Some(refusal) => Err(CliError::Refused {
            server: http.server().to_string(),
            username: username.to_owned(),
            refusal,
        }),
        None => Err(unexpected(http, reply)),
    }
}

/// An answer that is neither success nor an OAuth refusal.
fn unexpected(http: &HttpClient, reply: &Reply) -> CliError {
    let answer: ErrorAnswer = serde_json::from_slice(&reply.body).unwrap_or_default();
    let detail = match (answer.error.is_empty(), answer.error_description.is_empty()) {
        (false, false) => format!(": {} ({})", answer.error_description, answer.error),
        (false, true) => format!(": {}", answer.error),
        _ => String::new(),
    };
    CliError::Server {
        server: http.server().to_string(),
        message: format!("unexpected answer {}{detail}", reply.status),
    }
}

/// When a token received at `received`, living `expires_in` seconds,
/// stops working: that, or the JWT's own `exp` claim when it is earlier
/// (the server counts whole seconds, so a token may die up to a second
/// sooner). A claim already past at `received` says the clocks disagree,
/// and is ignored.
pub fn expiry(received: jiff::Timestamp, expires_in: u64, token: &str) -> jiff::Timestamp {
    let by_lifetime = received
        .checked_add(Duration::from_secs(expires_in.min(i64::MAX as u64 / 2)))
        .unwrap_or(received);
    match jwt_expiry(token) {
        Some(exp) if exp > received && exp < by_lifetime => exp,
        _ => by_lifetime,
    }
}

/// The `exp` claim of a JWT, unverified (only to know when to refresh).
pub fn jwt_expiry(token: &str) -> Option<jiff::Timestamp> {
    #[derive(Deserialize)]
    struct Claims {
        exp: Option<i64>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    jiff::Timestamp::from_second(claims.exp?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#), b64(payload))
    }

    #[test]
    fn expiry_takes_the_earlier_of_lifetime_and_claim() {
        let received = jiff::Timestamp::from_second(1_000).unwrap();
        let token = jwt(r#"{"username":"alice","exp":1500}"#);
        assert_eq!(expiry(received, 7200, &token).as_second(), 1_500);
        assert_eq!(expiry(received, 100, &token).as_second(), 1_100);
        assert_eq!(expiry(received, 100, "opaque").as_second(), 1_100);
        // A claim in the past of this clock: skew, ignored.
        let skewed = jwt(r#"{"exp":900}"#);
        assert_eq!(expiry(received, 100, &skewed).as_second(), 1_100);
        assert_eq!(jwt_expiry(&jwt(r#"{"username":"alice"}"#)), None);
        assert_eq!(jwt_expiry("a.!!!.c"), None);
    }

    #[test]
    fn refusals_read_as_what_to_do() {
        assert_eq!(
            Refusal::Locked {
                retry_after: Some(42)
            }
            .to_string(),
            "too many failed login attempts; try again in 42 s"
        );
        assert_eq!(
            Refusal::BadCredentials.to_string(),
            "incorrect username or password"
        );
        assert_eq!(Refusal::BadCredentials.exit_code(), 1);
        assert_eq!(Refusal::InvalidClient.exit_code(), 2);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let grant = TokenGrant {
            access_token: "ACCESS-SECRET".into(),
            refresh_token: "REFRESH-SECRET".into(),
            expires_in: 7200,
            expires_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let client = OAuthClient {
            id: "kubesphere".into(),
            secret: "CLIENT-SECRET".into(),
        };
        let text = format!("{grant:?} {client:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
