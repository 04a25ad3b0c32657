//! The `ks` command-line tool as a library: argument types ([`args`]) and
//! one module per command. `main.rs` only parses arguments and calls [`run`].
//!
//! Commands:
//! - `ks request-info`: parse request paths into RequestInfo JSON
//!   ([`request_info`]).
//! - `ks crd print [KIND...]`: KubeSphere's CRDs as YAML (from `ks-types`).
//! - `ks auth can-i`: offline authorization over a policy directory
//!   ([`auth`], from `ks-rbac`), single and `--batch`; `ks auth who-can` and
//!   `ks auth rules`; `ks auth lint`: findings about a policy, exit 1 on
//!   errors.
//! - `ks login SERVER --username U`, `ks logout`, `ks credential`: a
//!   KubeSphere session in a kubeconfig ([`login`]), over a small HTTP
//!   client ([`client`]) of the OAuth endpoints ([`oauth`]), with kubeconfig
//!   merging ([`kubeconfig`]) and a private token cache ([`credentials`])
//!   that a kubectl exec plugin reads. Documented in `docs/cli-login.md`.
//!
//! `ks request-info` and `ks auth can-i` are relied on by outside tools:
//! their input, output and exit statuses are a stable contract, written down
//! in `docs/cli-contract.md` at the root of the repository. Extend it, never
//! rename.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod auth;
pub mod client;
pub mod credentials;
pub mod kubeconfig;
pub mod login;
pub mod oauth;
pub mod request_info;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use args::{AuthCommand, Cli, Command, CrdCommand};

/// Exit status for a refused login (or a `no` / lint errors).
pub const EXIT_REFUSED: u8 = 1;
/// Exit status for a usage or configuration error (clap uses the same).
pub const EXIT_USAGE: u8 = 2;
/// Exit status for network, TLS and server errors.
pub const EXIT_NETWORK: u8 = 3;

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The arguments do not make sense; exit status 2.
    #[error("{0}")]
    Usage(String),
    /// Reading input or writing output failed; exit status 1.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A kubeconfig, CA or cache file cannot be read or written; exit
    /// status 2.
    #[error("{}: {reason}", .path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The server refused a login or a refresh; exit status 1 (2 for a
    /// wrong OAuth client).
    #[error("{}", refused_message(.server, .username, .refusal))]
    Refused {
        /// The server.
        server: String,
        /// The user.
        username: String,
        /// Why.
        refusal: oauth::Refusal,
    },
    /// The server could not be reached, or TLS failed; exit status 3.
    #[error(transparent)]
    Network(#[from] client::ClientError),
    /// The server answered something unexpected (a 5xx, not JSON); exit
    /// status 3.
    #[error("{server}: {message}")]
    Server {
        /// The server.
        server: String,
        /// What came back.
        message: String,
    },
}

fn refused_message(server: &str, username: &str, refusal: &oauth::Refusal) -> String {
    match refusal {
        oauth::Refusal::SessionExpired | oauth::Refusal::NoSession => format!(
            "{username} at {server}: {refusal}; run `ks login {server} --username {username}` \
             again"
        ),
        _ => format!("login to {server} as {username} refused: {refusal}"),
    }
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Config { .. } => EXIT_USAGE,
            CliError::Io(_) => 1,
            CliError::Refused { refusal, .. } => refusal.exit_code(),
            CliError::Network(_) | CliError::Server { .. } => EXIT_NETWORK,
        }
    }
}

/// Runs a parsed command line against the process's stdin and stdout and
/// returns the exit status.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        // `ks ... | head` closes the pipe early: not an error worth a message.
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Login(args) => {
            login::login(&args, &mut io::stdout().lock(), &mut io::stderr().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Logout(args) => {
            login::logout(&args, &mut io::stdout().lock(), &mut io::stderr().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Credential(args) => {
            login::credential(&args, &mut io::stdout().lock(), &mut io::stderr().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Auth(AuthCommand::WhoCan(args)) => {
            let (policy, _) = auth::load_policy(&args.policy, false, &mut io::stderr().lock())?;
            let snapshot = ks_rbac::PolicySnapshot::build(&policy);
            let mut out = io::stdout().lock();
            auth::who_can(&snapshot, &args, &mut out)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Auth(AuthCommand::Rules(args)) => {
            let (policy, _) = auth::load_policy(&args.policy, false, &mut io::stderr().lock())?;
            let snapshot = ks_rbac::PolicySnapshot::build(&policy);
            let mut out = io::stdout().lock();
            auth::rules(&snapshot, &args, &mut out)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Auth(AuthCommand::Lint(args)) => {
            let (policy, load_failed) =
                auth::load_policy(&args.policy, false, &mut io::stderr().lock())?;
            let mut out = io::stdout().lock();
            let has_errors = auth::lint(&policy, &mut out)?;
            out.flush()?;
            Ok(if has_errors || load_failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Auth(AuthCommand::CanI(args)) => {
            let (policy, _) =
                auth::load_policy(&args.policy, args.strict, &mut io::stderr().lock())?;
            let snapshot = ks_rbac::PolicySnapshot::build(&policy);
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            if args.batch {
                let input = io::BufReader::with_capacity(64 * 1024, io::stdin().lock());
                auth::can_i_batch(&snapshot, input, &mut out)?;
                return Ok(ExitCode::SUCCESS);
            }
            let answer = auth::can_i(&snapshot, &args)?;
            writeln!(out, "{}", if answer.allowed { "yes" } else { "no" })?;
            if args.explain {
                writeln!(out, "{}", answer.reason)?;
                if let Some(rule) = answer.rule {
                    writeln!(out, "rule: {rule}")?;
                }
            }
            out.flush()?;
            Ok(if answer.allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Crd(CrdCommand::Print { kinds }) => {
            let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
            let yaml = ks_types::crd::render_crds_yaml(&kinds)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let mut out = io::stdout().lock();
            out.write_all(yaml.as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::RequestInfo(args) => {
            let resolver = request_info::resolver(&args)?;
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            match &args.url {
                Some(url) if !args.batch => {
                    let ok = request_info::run_single(&resolver, &args.method, url, &mut out)?;
                    Ok(if ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    })
                }
                _ => {
                    let stdin = io::stdin();
                    let input = io::BufReader::with_capacity(64 * 1024, stdin.lock());
                    request_info::run_batch(&resolver, input, &mut out)?;
                    out.flush()?;
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}
