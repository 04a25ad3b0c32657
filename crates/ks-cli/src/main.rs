//! `ks`: KubeSphere policy tools and API client. All logic lives in the
//! `ks_cli` library; this is glue.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ks_cli::args::Cli::parse();
    ks_cli::run(cli)
}
