//! `phimesh scan`: scans files or stdin with the detection engine and prints one JSON line per input.

use std::process::ExitCode;

/// Arguments of `phimesh scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files to scan; `-` reads standard input.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: ScanArgs) -> ExitCode {
    ExitCode::from(2)
}
