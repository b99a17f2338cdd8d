//! `phimesh inject` and `phimesh webhook`: command-line entry points of injection.

use std::process::ExitCode;

/// Arguments of `phimesh inject`.
#[derive(Debug, clap::Args)]
pub struct InjectArgs {}

/// Arguments of `phimesh webhook`.
#[derive(Debug, clap::Args)]
pub struct WebhookArgs {}

/// Runs `phimesh inject` and returns the process exit code.
pub fn run_inject(_args: InjectArgs) -> ExitCode {
    eprintln!("phimesh inject: not built yet");
    ExitCode::from(2)
}

/// Runs `phimesh webhook` and returns the process exit code.
pub fn run_webhook(_args: WebhookArgs) -> ExitCode {
    eprintln!("phimesh webhook: not built yet");
    ExitCode::from(2)
}
