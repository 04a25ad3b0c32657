//! The private token cache behind `ks credential`: one session per server
//! and user, in `credentials.json` under `ks`'s configuration directory
//! (`$XDG_CONFIG_HOME/ks`, usually `~/.config/ks`; mode 0600, directory
//! 0700).
//!
//! A session holds what a refresh needs without the kubeconfig: the
//! server, the CA it is trusted with, the OAuth client, the access token
//! with its expiry and the refresh token. Readers and writers serialize on
//! `credentials.lock` beside it, so kubectls started together refresh
//! once; the file itself is replaced atomically.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::CliError;
use crate::client::Trust;
use crate::oauth::{OAuthClient, TokenGrant};

/// The cache's file name.
pub const FILE_NAME: &str = "credentials.json";
/// The lock file's name.
pub const LOCK_NAME: &str = "credentials.lock";

/// The longest a token is refreshed ahead of its expiry.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(60);

/// `ks`'s configuration directory: `dirs::config_dir()/ks`.
pub fn default_dir() -> Result<PathBuf, CliError> {
    dirs::config_dir()
        .map(|d| d.join("ks"))
        .ok_or_else(|| CliError::Usage("no configuration directory (set HOME)".to_owned()))
}

/// One login: a user at a server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The server URL (as in the kubeconfig).
    pub server: String,
    /// The user name given at login.
    pub username: String,
    /// The OAuth client's id.
    pub client_id: String,
    /// The OAuth client's secret.
    pub client_secret: String,
    /// The CA certificates (PEM) the server is trusted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// Whether the server's certificate is not checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
    /// The access token.
    pub access_token: String,
    /// When it expires (this machine's clock).
    pub access_token_expiry: jiff::Timestamp,
    /// Seconds an access token lives (decides how early to refresh).
    pub expires_in: u64,
    /// The refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .field("access_token_expiry", &self.access_token_expiry)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for a fresh grant.
    pub fn new(
        server: &str,
        username: &str,
        client: &OAuthClient,
        trust: &Trust,
        grant: TokenGrant,
    ) -> Session {
        let mut session = Session {
            server: server.to_owned(),
            username: username.to_owned(),
            client_id: client.id.clone(),
            client_secret: client.secret.clone(),
            certificate_authority: match trust {
                Trust::Ca(pem) => Some(pem.clone()),
                _ => None,
            },
            insecure_skip_tls_verify: *trust == Trust::InsecureSkipVerify,
            access_token: String::new(),
            access_token_expiry: jiff::Timestamp::UNIX_EPOCH,
            expires_in: 0,
            refresh_token: String::new(),
        };
        session.update(grant);
        session
    }

    /// Takes the tokens of a new grant (a refresh may omit the refresh
    /// token: the old one is kept then).
    pub fn update(&mut self, grant: TokenGrant) {
        self.access_token = grant.access_token;
        self.access_token_expiry = grant.expires_at;
        self.expires_in = grant.expires_in;
        if !grant.refresh_token.is_empty() {
            self.refresh_token = grant.refresh_token;
        }
    }

    /// How the server is trusted.
    pub fn trust(&self) -> Trust {
        match (&self.certificate_authority, self.insecure_skip_tls_verify) {
            (Some(pem), _) => Trust::Ca(pem.clone()),
            (None, true) => Trust::InsecureSkipVerify,
            (None, false) => Trust::Nothing,
        }
    }

    /// The OAuth client.
    pub fn client(&self) -> OAuthClient {
        OAuthClient {
            id: self.client_id.clone(),
            secret: self.client_secret.clone(),
        }
    }

    /// How long before expiry the access token is refreshed: a minute, or
    /// half the token's lifetime when that is shorter (so short-lived
    /// tokens are not refreshed on every use).
    pub fn refresh_ahead(&self) -> Duration {
        REFRESH_AHEAD.min(Duration::from_secs(self.expires_in) / 2)
    }

    /// When the access token should be replaced: its expiry less
    /// [`Session::refresh_ahead`]. Until then it is handed out as is.
    pub fn refresh_at(&self) -> jiff::Timestamp {
        self.access_token_expiry
            .checked_sub(self.refresh_ahead())
            .unwrap_or(self.access_token_expiry)
    }

    /// Whether the access token can be handed out at `now`.
    pub fn is_fresh(&self, now: jiff::Timestamp) -> bool {
        !self.access_token.is_empty() && now < self.refresh_at()
    }

    /// Whether the access token still works at `now` (even if due for a
    /// refresh).
    pub fn is_valid(&self, now: jiff::Timestamp) -> bool {
        !self.access_token.is_empty() && now < self.access_token_expiry
    }
}

/// The cache file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheFile {
    #[serde(default)]
    sessions: Vec<Session>,
}

/// The cache, locked for the lifetime of this value.
#[derive(Debug)]
pub struct CredentialCache {
    path: PathBuf,
    file: CacheFile,
    // Held for its lock; dropping it unlocks.
    _lock: fs::File,
}

impl CredentialCache {
    /// Opens (and locks) the cache in `dir`, creating the directory; a
    /// missing file is an empty cache.
    pub fn open(dir: &Path) -> Result<CredentialCache, CliError> {
        let path = dir.join(FILE_NAME);
        let cache_error = |e: String| CliError::Config {
            path: path.clone(),
            reason: e,
        };
        crate::kubeconfig::create_private_dir(dir).map_err(|e| cache_error(e.to_string()))?;
        let lock = open_lock(&dir.join(LOCK_NAME)).map_err(|e| cache_error(e.to_string()))?;
        lock.lock().map_err(|e| cache_error(e.to_string()))?;
        let file = match fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => CacheFile::default(),
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                cache_error(format!(
                    "unreadable ({e}); delete it and run `ks login` again"
                ))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => CacheFile::default(),
            Err(e) => return Err(cache_error(e.to_string())),
        };
        Ok(CredentialCache {
            path,
            file,
            _lock: lock,
        })
    }

    /// The cache file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The session of `username` at `server`.
    pub fn get(&self, server: &str, username: &str) -> Option<&Session> {
        self.file
            .sessions
            .iter()
            .find(|s| s.server == server && s.username == username)
    }

    /// Adds `session`, replacing the one of the same server and user.
    pub fn put(&mut self, session: Session) {
        match self
            .file
            .sessions
            .iter_mut()
            .find(|s| s.server == session.server && s.username == session.username)
        {
            Some(existing) => *existing = session,
            None => self.file.sessions.push(session),
        }
    }

    /// Removes the session of `username` at `server`; whether there was one.
    pub fn remove(&mut self, server: &str, username: &str) -> Option<Session> {
        let index = self
            .file
            .sessions
            .iter()
            .position(|s| s.server == server && s.username == username)?;
        Some(self.file.sessions.remove(index))
    }

    /// Writes the cache back (atomically, mode 0600).
    pub fn save(&self) -> Result<(), CliError> {
        let mut text = serde_json::to_string_pretty(&self.file).map_err(|e| CliError::Config {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        crate::kubeconfig::write_private(&self.path, text.as_bytes()).map_err(|e| {
            CliError::Config {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        })
    }
}

fn open_lock(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// The `ExecCredential` kubectl reads from `ks credential`: the token and
/// when to ask again. `api_version` is the one the kubeconfig asked for
/// (kubectl passes it in `KUBERNETES_EXEC_INFO`).
pub fn exec_credential(api_version: &str, token: &str, refresh_at: jiff::Timestamp) -> String {
    // Whole seconds, `Z`: what Go's RFC 3339 parser reads everywhere.
    let at = jiff::Timestamp::from_second(refresh_at.as_second()).unwrap_or(refresh_at);
    serde_json::json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "status": {
            "token": token,
            "expirationTimestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires_in: u64, at: i64) -> TokenGrant {
        TokenGrant {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_in,
            expires_at: jiff::Timestamp::from_second(at).unwrap(),
        }
    }

    fn session(expires_in: u64, at: i64) -> Session {
        let client = OAuthClient {
            id: "kubesphere".into(),
            secret: "kubesphere".into(),
        };
        Session::new(
            "https://h:1",
            "alice",
            &client,
            &Trust::Nothing,
            grant(expires_in, at),
        )
    }

    #[test]
    fn tokens_are_refreshed_a_minute_early_or_at_half_life() {
        let ts = |s| jiff::Timestamp::from_second(s).unwrap();
        let long = session(7200, 10_000);
        assert_eq!(long.refresh_at(), ts(9_940));
        assert!(long.is_fresh(ts(9_939)));
        assert!(!long.is_fresh(ts(9_940)));
        assert!(long.is_valid(ts(9_999)));
        assert!(!long.is_valid(ts(10_000)));
        let short = session(2, 10_000);
        assert_eq!(short.refresh_at(), ts(9_999));
    }

    #[test]
    fn a_refresh_without_a_refresh_token_keeps_the_old_one() {
        let mut s = session(7200, 10_000);
        let mut next = grant(7200, 20_000);
        next.access_token = "b".into();
        next.refresh_token.clear();
        s.update(next);
        assert_eq!(s.access_token, "b");
        assert_eq!(s.refresh_token, "r");
    }

    #[test]
    fn cache_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().join("ks");
        {
            let mut cache = CredentialCache::open(&dir).unwrap();
            cache.put(session(7200, 10_000));
            let mut other = session(7200, 10_000);
            other.username = "bob".into();
            cache.put(other);
            cache.save().unwrap();
        }
        let mut cache = CredentialCache::open(&dir).unwrap();
        assert_eq!(
            cache.get("https://h:1", "alice"),
            Some(&session(7200, 10_000))
        );
        assert!(cache.remove("https://h:1", "bob").is_some());
        assert!(cache.remove("https://h:1", "bob").is_none());
        cache.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(cache.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn exec_credentials_are_what_client_go_reads() {
        let text = exec_credential(
            "client.authentication.k8s.io/v1",
            "tok",
            jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["kind"], "ExecCredential");
        assert_eq!(v["status"]["token"], "tok");
        assert_eq!(v["status"]["expirationTimestamp"], "2023-11-14T22:13:20Z");
    }
}
