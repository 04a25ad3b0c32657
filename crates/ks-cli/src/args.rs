//! Command-line arguments (clap derive).

use clap::{Args, Parser, Subcommand};

/// KubeSphere policy tools and API client.
#[derive(Debug, Parser)]
#[command(name = "ks", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `ks` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse request paths into RequestInfo JSON, as ks-apiserver does.
    ///
    /// Prints one JSON object with the fields isResourceRequest, path, verb,
    /// apiPrefix, apiGroup, apiVersion, namespace, resource, subresource,
    /// name, parts, fieldSelector, labelSelector, workspace, cluster,
    /// resourceScope, isKubernetesRequest and error. Exit status: 0 when the
    /// parse succeeds, 1 when it reports an error, 2 on usage errors.
    #[command(name = "request-info")]
    RequestInfo(RequestInfoArgs),

    /// KubeSphere's CustomResourceDefinitions.
    #[command(subcommand)]
    Crd(CrdCommand),
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
