//! `phimesh proxy` and `phimesh init`: command-line entry points of the data plane.

use std::process::ExitCode;

/// Arguments of `phimesh proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {}

pub use crate::init::{run_init, InitArgs};

/// Runs `phimesh proxy` and returns the process exit code.
pub fn run_proxy(_args: ProxyArgs) -> ExitCode {
    eprintln!("phimesh proxy: not built yet");
    ExitCode::from(2)
}
