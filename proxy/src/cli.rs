//! `phimesh proxy` and `phimesh init`: command-line entry points of the data plane.

use std::process::ExitCode;

/// Arguments of `phimesh proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {}

/// Arguments of `phimesh init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {}

/// Runs `phimesh proxy` and returns the process exit code.
pub fn run_proxy(_args: ProxyArgs) -> ExitCode {
    eprintln!("phimesh proxy: not built yet");
    ExitCode::from(2)
}

/// Runs `phimesh init` and returns the process exit code.
pub fn run_init(_args: InitArgs) -> ExitCode {
    eprintln!("phimesh init: not built yet");
    ExitCode::from(2)
}
