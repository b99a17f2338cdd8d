//! `phimesh-proxy`: the sidecar alone, the same as `phimesh proxy` (same flags), in a binary
//! that carries nothing else. A running sidecar's memory is mostly the code pages of its
//! binary, so the injected sidecar container runs this one.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

#[path = "../logging.rs"]
mod logging;

/// The phimesh sidecar proxy.
#[derive(Debug, Parser)]
#[command(name = "phimesh-proxy", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    args: phimesh_proxy::cli::ProxyArgs,
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    phimesh_proxy::cli::run_proxy(cli.args, phimesh_plumbing::Shutdown::new())
}
