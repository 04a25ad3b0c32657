//! KubeSphere's OAuth endpoints (3.2+): `POST /oauth/token` with the
//! password and refresh-token grants, and `/oauth/logout`.
//!
//! Errors are OAuth 2.0 JSON (`{"error", "error_description"}`, RFC 6749
//! section 5.2): 401 `invalid_client` for an unknown client or secret;
//! 400 `invalid_grant` for a wrong password and an unknown user alike (the
//! answer never says which), for a disabled user and for a bad refresh
//! token; 429 while the user is locked; 400 `unsupported_grant_type` and
//! `invalid_request`. Form bodies are bounded, and nothing of them (the
//! password, the console's `encrypt` copy of it, tokens) is ever logged.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderValue, StatusCode, header};
use ks_kube_api::UserInfo;
use serde::Deserialize;
use serde_json::json;

use crate::authn::Tokens;
use crate::authn::jwt::TokenType;
use crate::authn::login::{LoginError, LoginSource, LoginType, Logins};
use crate::context::RequestRecord;
use crate::metrics::LoginResult;

/// The largest token request body accepted.
pub const MAX_FORM: usize = 16 * 1024;

/// An OAuth client allowed to use the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// KubeSphere's default client, as its chart ships it:
    /// `kubesphere`/`kubesphere`.
    pub fn kubesphere_default() -> Self {
        Client {
            id: "kubesphere".into(),
            secret: "kubesphere".into(),
        }
    }
}

/// What the OAuth endpoints use.
#[derive(Debug)]
pub struct OAuth {
    /// Issues and checks tokens.
    pub tokens: Arc<Tokens>,
    /// Checks passwords.
    pub logins: Arc<Logins>,
    /// The clients allowed.
    pub clients: Vec<Client>,
    /// Counts password logins (`ks_login_total`).
    pub metrics: crate::metrics::Metrics,
}

/// The routes, for the dispatcher.
pub fn routes(oauth: Arc<OAuth>) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/logout", get(logout).post(logout))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .with_state(oauth)
}

/// The token request form. Unknown fields (the console's `encrypt`, a
/// `scope`) are ignored.
#[derive(Default, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    refresh_token: String,
}

/// Decodes a token request body (bounded by the route's body limit).
pub(crate) fn parse_form(body: &[u8]) -> Result<TokenForm, serde_urlencoded::de::Error> {
    serde_urlencoded::from_bytes(body)
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = json_response(
        status,
        json!({"error": error, "error_description": description}).to_string(),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn token(
    State(oauth): State<Arc<OAuth>>,
    record: Option<axum::Extension<Arc<RequestRecord>>>,
    headers: http::HeaderMap,
    body: Bytes,
) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if form_type != Some("application/x-www-form-urlencoded") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let Ok(form) = parse_form(&body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "malformed form");
    };
    let known = oauth
        .clients
        .iter()
        .any(|c| c.id == form.client_id && ring_eq(&c.secret, &form.client_secret));
    if !known {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong client secret",
        );
    }
    let source = match &record {
        Some(axum::Extension(r)) => LoginSource {
            ip: r
                .source_ips
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            user_agent: r.user_agent.clone(),
        },
        None => LoginSource::default(),
    };
    let user = match form.grant_type.as_str() {
        "password" => {
            if form.username.is_empty() || form.password.is_empty() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required",
                );
            }
            let outcome = oauth
                .logins
                .login(&form.username, &form.password, LoginType::Token, &source)
                .await;
            oauth.metrics.login(match &outcome {
                Ok(_) => LoginResult::Success,
                Err(LoginError::InvalidCredentials | LoginError::Disabled) => LoginResult::Failure,
                Err(LoginError::Locked { .. }) => LoginResult::Locked,
                Err(LoginError::Internal(_)) => LoginResult::Error,
            });
            match outcome {
                Ok(user) => user,
                Err(e) => return login_error(&e),
            }
        }
        "refresh_token" => {
            match oauth
                .tokens
                .verify(&form.refresh_token, TokenType::Refresh, now())
            {
                Ok((_, user)) => user,
                Err(_) => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "invalid, expired or revoked refresh token",
                    );
                }
            }
        }
        "" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "supported grant types: password, refresh_token",
            );
        }
    };
    match oauth.tokens.issue(&user, now()).await {
        Ok(pair) => {
            let mut response = json_response(
                StatusCode::OK,
                serde_json::to_string(&pair).unwrap_or_default(),
            );
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "issuing a token failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "could not issue a token",
            )
        }
    }
}

fn login_error(e: &LoginError) -> Response {
    match e {
        LoginError::InvalidCredentials => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "incorrect username or password",
        ),
        LoginError::Disabled => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "user is disabled")
        }
        LoginError::Locked { retry_after } => {
            let mut response = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_grant",
                "too many failed login attempts; try again later",
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        LoginError::Internal(detail) => {
            tracing::error!(%detail, "a login failed inside the server");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the login could not be checked",
            )
        }
    }
}

/// Revokes every token of the caller; without a (valid) token there is
/// nothing to revoke, and the answer is the same 200.
async fn logout(
    State(oauth): State<Arc<OAuth>>,
    user: Option<axum::Extension<UserInfo>>,
) -> Response {
    if let Some(axum::Extension(user)) = user
        && user.groups.iter().any(|g| g == crate::authn::AUTHENTICATED)
        && oauth.logins.users().get(&user.name).is_some()
        && let Err(e) = oauth.tokens.revoke_all(&user.name, now()).await
    {
        tracing::error!(error = %e, "revoking tokens at logout failed");
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "logout failed",
        );
    }
    json_response(StatusCode::OK, "{}".to_owned())
}

/// Constant-time string equality (client secrets).
fn ring_eq(a: &str, b: &str) -> bool {
    let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &ring::rand::SystemRandom::new());
    match key {
        Ok(key) => {
            let tag = ring::hmac::sign(&key, a.as_bytes());
            ring::hmac::verify(&key, b.as_bytes(), tag.as_ref()).is_ok()
        }
        Err(_) => false,
    }
}
