//! `phimesh ca`: command-line entry point of the CA.

use std::process::ExitCode;

/// Arguments of `phimesh ca`.
#[derive(Debug, clap::Args)]
pub struct CaArgs {}

/// Runs `phimesh ca` and returns the process exit code.
pub fn run(_args: CaArgs) -> ExitCode {
    eprintln!("phimesh ca: not built yet");
    ExitCode::from(2)
}
