//! Command-line arguments (clap derive).

use clap::{Args, Parser, Subcommand};

/// KubeSphere policy tools and API client.
#[derive(Debug, Parser)]
#[command(name = "ks", version, about, long_about = None, after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit statuses, for `ks --help`.
const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success (`auth can-i`: yes)
  1  refused: `auth can-i` said no, `auth lint` found errors, `login` was
     refused (incorrect username or password, user locked or disabled),
     `credential` found no session or an expired one
  2  usage or configuration errors (bad flags, an unreadable kubeconfig
     or CA file)
  3  network, TLS or server errors (`login`, `logout`, `credential`)

`ks login` writes a kubeconfig context whose user runs `ks credential`
(a kubectl exec credential plugin) to get and refresh tokens; see
docs/cli-login.md.";

/// `ks` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse request paths into RequestInfo JSON, as ks-apiserver does.
    ///
    /// Prints one JSON object with the fields isResourceRequest, path, verb,
    /// apiPrefix, apiGroup, apiVersion, namespace, resource, subresource,
    /// name, parts, fieldSelector, labelSelector, workspace, cluster,
    /// resourceScope, isKubernetesRequest, error and selectorError. `verb` is
    /// what authorizers match (a non-resource request's method in
    /// lowercase); `error` is set when the request cannot be parsed,
    /// `selectorError` when only a label or field selector is invalid. Exit
    /// status: 0 when the request parses (even with a selector error), 1
    /// when `error` is set, 2 on usage errors.
    #[command(name = "request-info")]
    RequestInfo(RequestInfoArgs),

    /// KubeSphere's CustomResourceDefinitions.
    #[command(subcommand)]
    Crd(CrdCommand),

    /// Authorization questions, answered offline over a policy directory.
    #[command(subcommand)]
    Auth(AuthCommand),

    /// Log in to a ks-apiserver and write a kubeconfig context for it.
    ///
    /// Posts the password grant to `SERVER/oauth/token`, keeps the tokens
    /// in a private cache (`~/.config/ks/credentials.json`, mode 0600) and
    /// merges into the kubeconfig (`--kubeconfig`, else the first file of
    /// `$KUBECONFIG`, else `~/.kube/config`) a cluster named after the
    /// server's `host:port` (or `--context`), a user `USERNAME@CLUSTER`
    /// whose credentials come from `ks credential` (an exec plugin that
    /// refreshes the token), and a context, made current. Other entries
    /// are kept as they are. The password is read from stdin with
    /// `--password-stdin` or when stdin is not a terminal, else prompted
    /// for without echo. Exit status: 0 logged in, 1 refused (incorrect
    /// username or password, locked, disabled), 2 usage or configuration
    /// errors, 3 network or TLS errors.
    Login(Box<LoginArgs>),

    /// Log out: revoke the context's tokens at the server and forget them.
    ///
    /// Calls `/oauth/logout` with the context's token (the server revokes
    /// every token of the user), removes the cached session and the
    /// user's credentials from the kubeconfig; the cluster and context
    /// stay. Exits 0 even when the server cannot be reached (with a
    /// warning); 2 when the kubeconfig or context is missing.
    Logout(LogoutArgs),

    /// Print a kubectl `ExecCredential` for a `ks login` session.
    ///
    /// Used by the kubeconfig users `ks login` writes (`exec` plugin,
    /// interactiveMode Never). Hands out the cached access token, or
    /// refreshes it with the refresh token first when it expires within a
    /// minute (or half its lifetime). Exit status: 1 when there is no
    /// session or the refresh token was refused (run `ks login` again), 3
    /// on network or TLS errors.
    Credential(CredentialArgs),
}

/// Arguments of `ks login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server: `https://host:port` (`host:port` means HTTPS), or
    /// `http://127.0.0.1:port` for a `--plain-http` server.
    #[arg(value_name = "SERVER")]
    pub server: String,

    /// The user name (or email).
    #[arg(short = 'u', long, value_name = "USERNAME")]
    pub username: String,

    /// Read the password from stdin (its first line), even from a terminal.
    #[arg(long)]
    pub password_stdin: bool,

    /// The kubeconfig to write. Default: the first file of `$KUBECONFIG`,
    /// else `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,

    /// The name of the context and cluster to write. Default: the context
    /// `USERNAME@HOST:PORT` of the cluster `HOST:PORT`.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Trust the server's certificate if it chains to this CA (PEM), e.g.
    /// ks-apiserver's `DATA/pki/ca.crt`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ca_from_kubeconfig", "insecure_skip_tls_verify"])]
    pub certificate_authority: Option<std::path::PathBuf>,

    /// Trust the CA of this kubeconfig's cluster for SERVER (or of its
    /// current context), e.g. ks-apiserver's `DATA/kubeconfig`.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure_skip_tls_verify")]
    pub ca_from_kubeconfig: Option<std::path::PathBuf>,

    /// Do not check the server's certificate (insecure; for tests).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,

    /// The OAuth client id.
    #[arg(long, value_name = "ID", default_value = "kubesphere")]
    pub client_id: String,

    /// The OAuth client secret.
    #[arg(long, value_name = "SECRET", default_value = "kubesphere")]
    pub client_secret: String,
}

/// Arguments of `ks logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The kubeconfig. Default: the first file of `$KUBECONFIG`, else
    /// `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,

    /// The context to log out of. Default: the current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Arguments of `ks credential`.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// The server, as `ks login` wrote it.
    #[arg(long, value_name = "URL")]
    pub server: String,

    /// The user.
    #[arg(long, value_name = "USERNAME")]
    pub username: String,
}

/// `ks auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Whether a user may do something: prints `yes` (exit 0) or `no`
    /// (exit 1); exit 2 on errors.
    ///
    /// `ks auth can-i VERB RESOURCE[.GROUP][/SUBRESOURCE] [NAME]` or
    /// `ks auth can-i VERB /non/resource/url`. With `--batch`, reads one JSON
    /// attributes object per line from stdin (user, groups, verb, apiGroup,
    /// resource, subresource, name, namespace, workspace, cluster,
    /// resourceScope, isResourceRequest, path) and writes one
    /// `{"allowed": bool, "reason": string}` line each.
    #[command(name = "can-i")]
    CanI(Box<CanIArgs>),

    /// Who may do something: every binding that grants it, with its role
    /// and subjects (users, groups, service accounts).
    #[command(name = "who-can")]
    WhoCan(Box<WhoCanArgs>),

    /// The rules a user holds at a scope, like `kubectl auth can-i --list`.
    Rules(Box<RulesArgs>),

    /// Findings about a policy: bindings to missing roles, roles nobody
    /// binds, risky grants (`*` on `*`, escalate, bind, impersonate,
    /// cluster-wide secrets read), ... Exit 1 when any finding is an error
    /// (or any document failed to load), so CI pipelines can gate on it.
    Lint(LintArgs),
}

/// The request of `ks auth who-can`.
#[derive(Debug, Args)]
pub struct WhoCanArgs {
    /// The verb.
    #[arg(value_name = "VERB")]
    pub verb: String,

    /// `RESOURCE[.GROUP][/SUBRESOURCE]`, or a non-resource URL starting with `/`.
    #[arg(value_name = "RESOURCE")]
    pub target: String,

    /// The object name.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Directory of YAML manifests, read recursively.
    #[arg(long, value_name = "DIR")]
    pub policy: std::path::PathBuf,

    /// Where.
    #[command(flatten)]
    pub place: PlaceArgs,
}

/// Arguments of `ks auth rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Directory of YAML manifests, read recursively.
    #[arg(long, value_name = "DIR")]
    pub policy: std::path::PathBuf,

    /// Who asks.
    #[command(flatten)]
    pub subject: SubjectArgs,

    /// Where.
    #[command(flatten)]
    pub place: PlaceArgs,
}

/// The user and groups a question is asked for.
#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// The user.
    #[arg(long = "as", value_name = "USER", default_value = "")]
    pub as_user: String,

    /// A group of the user (repeatable).
    #[arg(long = "as-group", value_name = "GROUP")]
    pub as_group: Vec<String>,
}

/// Where a question is asked: namespace, workspace and resource scope.
#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// The namespace.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// The workspace.
    #[arg(long)]
    pub workspace: Option<String>,

    /// The resource scope (Global, Cluster, Workspace, Namespace). Default:
    /// Namespace with -n, else Workspace with --workspace, else Global for
    /// KubeSphere's global resources (users, globalroles, ...), else Cluster.
    #[arg(long)]
    pub scope: Option<String>,
}

/// Arguments of `ks auth lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Directory of YAML manifests, read recursively.
    #[arg(long, value_name = "DIR")]
    pub policy: std::path::PathBuf,
}

/// Arguments of `ks auth can-i`.
#[derive(Debug, Args)]
pub struct CanIArgs {
    /// The verb, e.g. `get`, `list`, `create`, `*`.
    #[arg(value_name = "VERB", required_unless_present = "batch")]
    pub verb: Option<String>,

    /// `RESOURCE[.GROUP][/SUBRESOURCE]`, or a non-resource URL starting with `/`.
    #[arg(value_name = "RESOURCE", required_unless_present = "batch")]
    pub target: Option<String>,

    /// The object name.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Directory of YAML manifests (roles, bindings, namespaces), read
    /// recursively.
    #[arg(long, value_name = "DIR")]
    pub policy: std::path::PathBuf,

    /// Fail on the first invalid document instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Who asks.
    #[command(flatten)]
    pub subject: SubjectArgs,

    /// Where.
    #[command(flatten)]
    pub place: PlaceArgs,

    /// The member cluster.
    #[arg(long)]
    pub cluster: Option<String>,

    /// Also print the binding, role and rule that decided, or why nothing
    /// matched.
    #[arg(long)]
    pub explain: bool,

    /// Answer JSON attribute lines from stdin.
    #[arg(long, conflicts_with_all = ["verb", "target", "name", "explain"])]
    pub batch: bool,
}

/// `ks crd` subcommands.
#[derive(Debug, Subcommand)]
pub enum CrdCommand {
    /// Print CRDs as multi-document YAML, ready for `kubectl apply -f -`.
    ///
    /// With no KIND, prints all of them. A KIND may be a kind (`User`), a
    /// plural (`users`), a singular, a short name or a full name
    /// (`users.iam.kubesphere.io`).
    Print {
        /// The CRDs to print.
        #[arg(value_name = "KIND")]
        kinds: Vec<String>,
    },
}

/// Arguments of `ks request-info`.
#[derive(Debug, Args)]
pub struct RequestInfoArgs {
    /// HTTP method of the request.
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        default_value = "GET"
    )]
    pub method: String,

    /// Read `METHOD URL` lines from stdin and write one JSON line per input
    /// line, in order. A malformed line yields a JSON line with `error` set.
    #[arg(long)]
    pub batch: bool,

    /// Comma-separated API prefixes (first path segments of API paths).
    #[arg(long, value_name = "L", default_value = "api,apis,kapis,kapi")]
    pub api_prefixes: String,

    /// Comma-separated API prefixes whose paths carry no group segment.
    #[arg(long, value_name = "L", default_value = "api,kapi")]
    pub groupless_prefixes: String,

    /// Comma-separated `group/resource` items at Global scope; an empty
    /// string means none.
    #[arg(
        long,
        value_name = "L",
        default_value = "iam.kubesphere.io/users,iam.kubesphere.io/globalroles,iam.kubesphere.io/globalrolebindings,tenant.kubesphere.io/workspaces,tenant.kubesphere.io/workspacetemplates,cluster.kubesphere.io/clusters"
    )]
    pub global_resources: String,

    /// The request target: `/path?query`, or an absolute `https://host/path` URL.
    #[arg(
        value_name = "URL",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub url: Option<String>,
}
