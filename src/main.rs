//! The `phimesh` binary: one executable for the sidecar, the CA, the init step, injection and scanning.
//!
//! This file only parses the command line and hands each subcommand to the crate that owns it.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod logging;
mod scan;

/// phimesh: a transparent mTLS sidecar that keeps PHI from leaving pods in plaintext.
#[derive(Debug, Parser)]
#[command(name = "phimesh", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files (or stdin with `-`) for PHI with the engine the proxy uses.
    Scan(scan::ScanArgs),
    /// Run the CA and its identity API, or rotate its root.
    Ca(phimesh_ca::cli::CaArgs),
    /// Run the sidecar proxy.
    Proxy(phimesh_proxy::cli::ProxyArgs),
    /// Install the iptables redirect rules in the current network namespace.
    Init(phimesh_proxy::cli::InitArgs),
    /// Add the sidecar to Kubernetes manifests offline.
    Inject(phimesh_inject::cli::InjectArgs),
    /// Run the mutating admission webhook.
    Webhook(phimesh_inject::cli::WebhookArgs),
    /// Run the CA, two sidecars, a patient service and an external sink on 127.0.0.x, play the
    /// scenarios and print what happened.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    // SIGTERM and SIGINT, for every subcommand that serves: it stops (the sidecar drains) when
    // this fires. The handlers are installed in the subcommand's runtime once it waits, so the
    // one-shot subcommands keep the signals' default action.
    let shutdown = phimesh_plumbing::Shutdown::new();
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Ca(args) => phimesh_ca::cli::run(args, shutdown),
        Command::Proxy(args) => {
            exec_sidecar_binary();
            phimesh_proxy::cli::run_proxy(args, shutdown)
        }
        Command::Init(args) => phimesh_proxy::cli::run_init(args),
        Command::Inject(args) => phimesh_inject::cli::run_inject(args),
        Command::Webhook(args) => phimesh_inject::cli::run_webhook(args, shutdown),
        Command::Demo(args) => demo::run(args, shutdown),
    }
}

/// The variable naming the sidecar-only binary `phimesh proxy` hands over to (the image sets it;
/// the pod spec cannot, the admission policy allows only the sidecar's own variables).
const PROXY_BINARY_ENV: &str = "PHIMESH_PROXY_BINARY";

/// Replaces this process with the sidecar-only binary (`phimesh-proxy`, the same sidecar with the
/// same flags) when `PHIMESH_PROXY_BINARY` names one: a running sidecar's memory is mostly the
/// code pages of its binary, and that one carries nothing but the sidecar (about 4 MiB less
/// resident, `docs/benchmarks.md`). Returns only if there is nothing to hand over to or the
/// handover failed; the sidecar then runs in this process, which is the same code.
fn exec_sidecar_binary() {
    use std::os::unix::process::CommandExt;
    let Some(bin) = std::env::var_os(PROXY_BINARY_ENV).filter(|b| !b.is_empty()) else {
        return;
    };
    let mut argv = std::env::args_os().skip(1);
    // `phimesh proxy FLAGS...`: the flags go over as they are.
    if argv.next().as_deref() != Some(std::ffi::OsStr::new("proxy")) {
        return;
    }
    let err = std::process::Command::new(&bin)
        .args(argv)
        .env_remove(PROXY_BINARY_ENV)
        .exec();
    tracing::warn!(
        error = %err,
        binary = %std::path::Path::new(&bin).display(),
        "could not start the sidecar-only binary: the sidecar runs in this process"
    );
}
