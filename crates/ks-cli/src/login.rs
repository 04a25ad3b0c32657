//! `ks login`, `ks logout` and `ks credential`: a KubeSphere session in a
//! kubeconfig, the way `oc login` or `kubelogin` do it.
//!
//! `ks login` exchanges a password for a token pair (OAuth password
//! grant), keeps the pair in the private cache of [`crate::credentials`],
//! and merges into the kubeconfig a cluster, a context and a user whose
//! credentials come from a client-go exec plugin: `ks credential --server
//! S --username U`. kubectl runs it when it needs a token; it prints the
//! cached access token, refreshed first (refresh-token grant) when it is
//! about to expire, so a session lasts as long as the server lets refresh
//! tokens live, with no password kept anywhere. `ks logout` revokes the
//! tokens at the server (`/oauth/logout`) and forgets them.
//!
//! The full behaviour, with the kubeconfig written and the exit statuses,
//! is in `docs/cli-login.md`.

use std::io::{self, BufRead as _, IsTerminal as _, Read as _, Write};
use std::path::Path;

use crate::CliError;
use crate::args::{CredentialArgs, LoginArgs, LogoutArgs};
use crate::client::{HttpClient, Scheme, ServerUrl, Trust};
use crate::credentials::{self, CredentialCache, Session};
use crate::kubeconfig::{self, EXEC_API_VERSION, ExecPlugin, Kubeconfig, UserCredentials};
use crate::oauth::{self, OAuthClient, Refusal};

/// The longest password line read from stdin.
const MAX_PASSWORD_BYTES: u64 = 4096;

/// The kubeconfig names of a login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryNames {
    /// The cluster: `--context`, else the server's `host:port`.
    pub cluster: String,
    /// The user: `USERNAME@CLUSTER`.
    pub user: String,
    /// The context: `--context`, else `USERNAME@HOST:PORT`.
    pub context: String,
}

impl EntryNames {
    /// The names for `username` at `server`, with an optional context name.
    pub fn new(server: &ServerUrl, username: &str, context: Option<&str>) -> EntryNames {
        let host_port = server.host_port();
        let cluster = context.map_or_else(|| host_port.clone(), str::to_owned);
        EntryNames {
            user: format!("{username}@{cluster}"),
            context: context.map_or_else(|| format!("{username}@{host_port}"), str::to_owned),
            cluster,
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// `ks login`: returns once the kubeconfig is written.
pub fn login(args: &LoginArgs, out: &mut impl Write, err: &mut impl Write) -> Result<(), CliError> {
    let server = ServerUrl::parse(&args.server).map_err(CliError::Usage)?;
    if args.username.trim().is_empty() {
        return Err(CliError::Usage("--username is empty".to_owned()));
    }
    if args.context.as_deref().is_some_and(str::is_empty) {
        return Err(CliError::Usage("--context is empty".to_owned()));
    }
    let kubeconfig_path = kubeconfig::path(args.kubeconfig.as_deref())?;
    // Read before anything else: a malformed kubeconfig is never replaced.
    let mut config = Kubeconfig::load(&kubeconfig_path)?.unwrap_or_default();
    let trust = choose_trust(args, &server, &config, &kubeconfig_path, err)?;
    let command = std::env::current_exe()
        .map_err(|e| CliError::Usage(format!("cannot find the path of the ks binary: {e}")))?;
    let command = command.to_str().ok_or_else(|| {
        CliError::Usage(format!(
            "the path of the ks binary is not UTF-8: {}",
            command.display()
        ))
    })?;
    let credentials_dir = credentials::default_dir()?;
    let http = HttpClient::new(&server, &trust)?;
    let client = OAuthClient {
        id: args.client_id.clone(),
        secret: args.client_secret.clone(),
    };

    let password = read_password(args, &server)?;
    let grant = runtime()?.block_on(oauth::password_grant(
        &http,
        &client,
        &args.username,
        &password,
    ));
    drop(password);
    let grant = grant?;

    let mut cache = CredentialCache::open(&credentials_dir)?;
    cache.put(Session::new(
        server.as_str(),
        &args.username,
        &client,
        &trust,
        grant,
    ));
    cache.save()?;
    drop(cache);

    let names = EntryNames::new(&server, &args.username, args.context.as_deref());
    let plugin = ExecPlugin {
        command: command.to_owned(),
        args: vec![
            "credential".to_owned(),
            "--server".to_owned(),
            server.as_str().to_owned(),
            "--username".to_owned(),
            args.username.clone(),
        ],
        install_hint: format!(
            "the `ks` binary (KubeSphere's CLI) provides these credentials: install it, then \
             run `ks login {server} --username {}` again",
            args.username
        ),
    };
    config.set_cluster(&names.cluster, server.as_str(), &trust);
    config.set_user_exec(&names.user, &plugin);
    config.set_context(&names.context, &names.cluster, &names.user);
    config.set_current_context(&names.context);
    config.save(&kubeconfig_path)?;
    writeln!(out, "Logged in to {server} as {}.", args.username)?;
    writeln!(
        out,
        "Context \"{}\" in {} is now current.",
        names.context,
        kubeconfig_path.display()
    )?;
    Ok(())
}

/// The CA to trust `server` with: the flags, else the kubeconfig's entry
/// for the same server.
fn choose_trust(
    args: &LoginArgs,
    server: &ServerUrl,
    config: &Kubeconfig,
    kubeconfig_path: &Path,
    err: &mut impl Write,
) -> Result<Trust, CliError> {
    let flagged = args.certificate_authority.is_some()
        || args.ca_from_kubeconfig.is_some()
        || args.insecure_skip_tls_verify;
    if server.scheme() == Scheme::Http {
        if flagged {
            writeln!(
                err,
                "warning: {server} is plain HTTP: the TLS flags are ignored"
            )?;
        }
        if !server.is_loopback() {
            writeln!(
                err,
                "warning: {server} is plain HTTP: the password and tokens cross the network \
                 unencrypted"
            )?;
        }
        return Ok(Trust::Nothing);
    }
    if let Some(file) = &args.certificate_authority {
        let pem = std::fs::read_to_string(file).map_err(|e| CliError::Config {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        return Trust::from_pem(&pem).map_err(|reason| CliError::Config {
            path: file.clone(),
            reason,
        });
    }
    if let Some(file) = &args.ca_from_kubeconfig {
        return ca_from_kubeconfig(file, server);
    }
    if args.insecure_skip_tls_verify {
        writeln!(
            err,
            "warning: --insecure-skip-tls-verify: the server's certificate is not checked"
        )?;
        return Ok(Trust::InsecureSkipVerify);
    }
    // A login again: the CA the kubeconfig already trusts this server with.
    let base = kubeconfig::parent_dir(kubeconfig_path);
    Ok(match config.cluster_by_server(server.as_str(), base) {
        Ok(Some(cluster)) => cluster.trust,
        _ => Trust::Nothing,
    })
}

/// The CA of the cluster for `server` in the kubeconfig `file`, or of its
/// current context's cluster.
fn ca_from_kubeconfig(file: &Path, server: &ServerUrl) -> Result<Trust, CliError> {
    let config_error = |reason: String| CliError::Config {
        path: file.to_path_buf(),
        reason,
    };
    let config = Kubeconfig::load(file)?.ok_or_else(|| config_error("no such file".into()))?;
    let base = kubeconfig::parent_dir(file);
    let cluster = match config
        .cluster_by_server(server.as_str(), base)
        .map_err(config_error)?
    {
        Some(cluster) => Some(cluster),
        None => match config
            .current_context()
            .and_then(|name| config.context(name))
        {
            Some((cluster, _)) => config.cluster(&cluster, base).map_err(config_error)?,
            None => None,
        },
    };
    match cluster {
        Some(cluster) => match cluster.trust {
            Trust::Ca(pem) => Ok(Trust::Ca(pem)),
            _ => Err(config_error(format!(
                "the cluster of {} has no certificate-authority",
                cluster.server
            ))),
        },
        None => Err(config_error(format!(
            "no cluster for {server} and no current context"
        ))),
    }
}

/// The password: the first line of stdin with `--password-stdin` or when
/// stdin is not a terminal, else a prompt on the terminal without echo.
fn read_password(args: &LoginArgs, server: &ServerUrl) -> Result<String, CliError> {
    let stdin = io::stdin();
    let password = if args.password_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .take(MAX_PASSWORD_BYTES)
            .read_line(&mut line)
            .map_err(|e| CliError::Usage(format!("reading the password from stdin: {e}")))?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        line.strip_suffix('\r').unwrap_or(line).to_owned()
    } else {
        rpassword::prompt_password(format!("Password for {} at {server}: ", args.username))
            .map_err(|e| CliError::Usage(format!("reading the password: {e}")))?
    };
    if password.is_empty() {
        return Err(CliError::Usage(
            "no password: give it on stdin (--password-stdin) or at the prompt".to_owned(),
        ));
    }
    Ok(password)
}

/// The `apiVersion` kubectl asked for (`KUBERNETES_EXEC_INFO`), if it is
/// one of client-go's.
fn requested_api_version() -> String {
    std::env::var("KUBERNETES_EXEC_INFO")
        .ok()
        .and_then(|info| serde_json::from_str::<serde_json::Value>(&info).ok())
        .and_then(|info| info["apiVersion"].as_str().map(str::to_owned))
        .filter(|v| v.starts_with("client.authentication.k8s.io/"))
        .unwrap_or_else(|| EXEC_API_VERSION.to_owned())
}

/// `ks credential`: prints the session's `ExecCredential`, refreshing the
/// token first when it is due.
pub fn credential(
    args: &CredentialArgs,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), CliError> {
    let server = ServerUrl::parse(&args.server).map_err(CliError::Usage)?;
    let mut cache = CredentialCache::open(&credentials::default_dir()?)?;
    let Some(mut session) = cache.get(server.as_str(), &args.username).cloned() else {
        return Err(CliError::Refused {
            server: server.to_string(),
            username: args.username.clone(),
            refusal: Refusal::NoSession,
        });
    };
    let now = jiff::Timestamp::now();
    if !session.is_fresh(now) {
        match refresh(&server, &mut session) {
            Ok(()) => {
                cache.put(session.clone());
                cache.save()?;
            }
            // A refresh token the server refuses: only a login helps.
            Err(e @ CliError::Refused { .. }) => return Err(e),
            // The server cannot be reached, but the token still works.
            Err(e) if session.is_valid(jiff::Timestamp::now()) => {
                writeln!(
                    err,
                    "warning: could not refresh the token ({e}); using the current one until \
                     it expires"
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    drop(cache);
    writeln!(
        out,
        "{}",
        credentials::exec_credential(
            &requested_api_version(),
            &session.access_token,
            session.refresh_at()
        )
    )?;
    out.flush()?;
    Ok(())
}

/// Replaces the session's tokens through the refresh-token grant.
fn refresh(server: &ServerUrl, session: &mut Session) -> Result<(), CliError> {
    let http = HttpClient::new(server, &session.trust())?;
    let grant = runtime()?.block_on(oauth::refresh_grant(
        &http,
        &session.client(),
        &session.username,
        &session.refresh_token,
    ))?;
    session.update(grant);
    Ok(())
}

/// `ks logout`: exit 0 unless the kubeconfig or context is missing.
pub fn logout(
    args: &LogoutArgs,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), CliError> {
    let path = kubeconfig::path(args.kubeconfig.as_deref())?;
    let mut config = Kubeconfig::load(&path)?.ok_or_else(|| CliError::Config {
        path: path.clone(),
        reason: "no such file".to_owned(),
    })?;
    let context = match &args.context {
        Some(name) => name.clone(),
        None => config.current_context().map(str::to_owned).ok_or_else(|| {
            CliError::Usage(format!(
                "{} has no current context: pass --context NAME",
                path.display()
            ))
        })?,
    };
    let (cluster_name, user_name) = config
        .context(&context)
        .ok_or_else(|| CliError::Usage(format!("no context {context:?} in {}", path.display())))?;
    match config.user_credentials(&user_name) {
        UserCredentials::KsExec { server, username } => {
            let mut cache = CredentialCache::open(&credentials::default_dir()?)?;
            match cache.remove(&server, &username) {
                Some(mut session) => {
                    cache.save()?;
                    drop(cache);
                    revoke_session(&mut session, err)?;
                }
                None => writeln!(
                    err,
                    "warning: no cached session of {username} at {server} (logged out already?)"
                )?,
            }
        }
        UserCredentials::Token(token) => {
            let cluster = config
                .cluster(&cluster_name, kubeconfig::parent_dir(&path))
                .map_err(|reason| CliError::Config {
                    path: path.clone(),
                    reason,
                })?;
            match cluster {
                Some(cluster) => match ServerUrl::parse(&cluster.server) {
                    Ok(server) => revoke(&server, &cluster.trust, &token, err)?,
                    Err(e) => writeln!(err, "warning: not revoking the token: {e}")?,
                },
                None => writeln!(
                    err,
                    "warning: no cluster {cluster_name:?}: not revoking the token"
                )?,
            }
        }
        UserCredentials::Other => {
            return Err(CliError::Usage(format!(
                "the user {user_name:?} of context {context:?} holds credentials ks login did \
                 not write (a client certificate or another plugin): not logging out"
            )));
        }
        UserCredentials::None => {
            writeln!(
                out,
                "Context \"{context}\" holds no credentials: nothing to do."
            )?;
            return Ok(());
        }
    }
    config.clear_user_credentials(&user_name);
    config.save(&path)?;
    writeln!(out, "Logged out of context \"{context}\".")?;
    Ok(())
}

/// Revokes a cached session's tokens, refreshing the access token first
/// if it is due (the refresh token still has to be revoked). Failures
/// are warnings.
fn revoke_session(session: &mut Session, err: &mut impl Write) -> Result<(), CliError> {
    let server = match ServerUrl::parse(&session.server) {
        Ok(server) => server,
        Err(e) => {
            writeln!(err, "warning: not revoking the tokens: {e}")?;
            return Ok(());
        }
    };
    // A token about to expire could die on the way, and the server would
    // then revoke nothing: refresh it first, as `ks credential` would.
    if !session.is_fresh(jiff::Timestamp::now()) {
        match refresh(&server, session) {
            Ok(()) => {}
            // Nothing alive to revoke.
            Err(CliError::Refused { .. }) => return Ok(()),
            Err(e) => {
                writeln!(
                    err,
                    "warning: could not revoke the tokens ({e}); the refresh token stays valid \
                     until it expires"
                )?;
                return Ok(());
            }
        }
    }
    let trust = session.trust();
    revoke(&server, &trust, &session.access_token, err)
}

/// `/oauth/logout` with `token`; failures are warnings.
fn revoke(
    server: &ServerUrl,
    trust: &Trust,
    token: &str,
    err: &mut impl Write,
) -> Result<(), CliError> {
    let result = HttpClient::new(server, trust)
        .map_err(CliError::from)
        .and_then(|http| runtime()?.block_on(oauth::logout(&http, token)));
    if let Err(e) = result {
        writeln!(
            err,
            "warning: could not revoke the tokens at {server} ({e}); they stay valid until they \
             expire"
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_follow_the_server_or_the_context_flag() {
        let server = ServerUrl::parse("https://127.0.0.1:6443").unwrap();
        assert_eq!(
            EntryNames::new(&server, "alice", None),
            EntryNames {
                cluster: "127.0.0.1:6443".into(),
                user: "alice@127.0.0.1:6443".into(),
                context: "alice@127.0.0.1:6443".into(),
            }
        );
        assert_eq!(
            EntryNames::new(&server, "alice", Some("dev")),
            EntryNames {
                cluster: "dev".into(),
                user: "alice@dev".into(),
                context: "dev".into(),
            }
        );
    }
}
