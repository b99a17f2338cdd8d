//! `phimesh scan`: scans files or stdin with the proxy's detection engine and prints one JSON
//! line per input: `{"file","phi","findings":[{"kind","start","end"}]}`, plus
//! `"uninspectable": "<reason>"` when the content cannot be inspected within bounds.
//!
//! By default every finding is listed (up to 1,024 of each role, the lowest offsets).
//! `--kinds` lists the same kinds with the first finding of each; `--first` stops reading an
//! input at the first finding that makes it PHI and lists the kinds found until then. Their
//! lines say what they list (`"listed": "kinds"` or `"first"`). The verdict and exit status are
//! the same in every mode.
//!
//! Exit status: 0 when no input holds PHI, 1 when any input holds PHI or cannot be inspected
//! (the proxy would refuse it), 2 on errors (unreadable file, bad flags). Matched values are
//! never printed, in any mode or error.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use phimesh_detect::{Decoding, Engine, Limits, Report, ReportMode, StreamOptions, Verdict};
use serde::Serialize;

/// Read size: large enough that per-call overhead vanishes, small enough to stay in cache.
const READ_BUF: usize = 1 << 16;

/// Arguments of `phimesh scan`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    /// Files to scan; `-` (or nothing) reads standard input.
    pub files: Vec<PathBuf>,
    /// Keep `+` as it is. By default `+` reads as a space, as in form bodies and URL query
    /// strings (files do not say whether they are forms; a space never hides PHI elsewhere).
    #[arg(long, env = "PHIMESH_LITERAL_PLUS")]
    pub literal_plus: bool,
    /// Content bytes inspected per input (after decompression) before it is uninspectable.
    #[arg(long, env = "PHIMESH_MAX_CONTENT_BYTES", default_value_t = u64::MAX)]
    pub max_content_bytes: u64,
    /// Largest decompression ratio accepted (compression bombs are uninspectable).
    #[arg(long, env = "PHIMESH_MAX_RATIO", default_value_t = 100)]
    pub max_ratio: u64,
    /// Scan compressed input as it is instead of decompressing gzip/zlib files.
    #[arg(long)]
    pub no_decompress: bool,
    /// List each kind found with its first finding, not every finding. Same verdict.
    #[arg(long, conflicts_with = "first")]
    pub kinds: bool,
    /// Stop reading an input at the first finding that makes it PHI, and list the kinds found
    /// until then (the first finding of each). Same verdict; fastest on PHI.
    #[arg(long)]
    pub first: bool,
}

impl ScanArgs {
    fn report_mode(&self) -> ReportMode {
        if self.first {
            ReportMode::First
        } else if self.kinds {
            ReportMode::Kinds
        } else {
            ReportMode::All
        }
    }
}

#[derive(Serialize)]
struct FindingOut {
    kind: &'static str,
    start: u64,
    end: u64,
}

#[derive(Serialize)]
struct Line<'a> {
    file: &'a str,
    phi: bool,
    findings: Vec<FindingOut>,
    /// What `findings` holds when it is not every finding (`kinds`, `first`).
    #[serde(skip_serializing_if = "Option::is_none")]
    listed: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uninspectable: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs `phimesh scan`.
pub(crate) fn run(args: ScanArgs) -> ExitCode {
    let engine = match Engine::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("phimesh scan: {e}");
            return ExitCode::from(2);
        }
    };
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut any_phi = false;
    let mut any_error = false;
    let mut buf = vec![0u8; READ_BUF];
    let listed = match args.report_mode() {
        ReportMode::All => None,
        m => Some(m.as_str()),
    };
    for path in &files {
        let name = path.to_string_lossy();
        let result = if name == "-" {
            scan_reader(&engine, &args, &mut io::stdin().lock(), &mut buf)
        } else {
            File::open(path).and_then(|mut f| scan_reader(&engine, &args, &mut f, &mut buf))
        };
        let line = match &result {
            Ok(report) => {
                let phi = report.verdict == Verdict::Phi;
                let uninspectable = match report.verdict {
                    Verdict::Uninspectable(u) => Some(u.as_str()),
                    _ => None,
                };
                any_phi |= phi || uninspectable.is_some();
                Line {
                    file: &name,
                    phi,
                    findings: report
                        .findings
                        .iter()
                        .map(|f| FindingOut {
                            kind: f.kind.as_str(),
                            start: f.start,
                            end: f.end,
                        })
                        .collect(),
                    listed,
                    uninspectable,
                    error: None,
                }
            }
            Err(e) => {
                any_error = true;
                // io::Error messages describe the operation (not found, permission denied),
                // never file content.
                eprintln!("phimesh scan: {name}: {}", io_reason(e));
                Line {
                    file: &name,
                    phi: false,
                    findings: Vec::new(),
                    listed,
                    uninspectable: None,
                    error: Some(io_reason(e)),
                }
            }
        };
        if serde_json::to_writer(&mut out, &line).is_err() || out.write_all(b"\n").is_err() {
            return ExitCode::from(2);
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    if any_error {
        ExitCode::from(2)
    } else if any_phi {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "not found".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => format!("read error ({:?})", e.kind()),
    }
}

/// Guesses the file's compression from its first bytes.
fn sniff(head: &[u8]) -> Decoding {
    match head {
        [0x1f, 0x8b, ..] => Decoding::Gzip,
        [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Decoding::Deflate,
        _ => Decoding::Identity,
    }
}

fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn scan_reader(
    engine: &Engine,
    args: &ScanArgs,
    r: &mut dyn Read,
    buf: &mut [u8],
) -> io::Result<Report> {
    // Fill at least a few bytes to sniff the format.
    let mut n = read_some(r, buf)?;
    while n > 0 && n < 2 {
        let m = read_some(r, &mut buf[n..])?;
        if m == 0 {
            break;
        }
        n += m;
    }
    let decoding = if args.no_decompress {
        Decoding::Identity
    } else {
        sniff(&buf[..n])
    };
    let opts = StreamOptions {
        decoding,
        plus_as_space: !args.literal_plus,
        limits: Limits {
            max_content_bytes: args.max_content_bytes,
            max_ratio: args.max_ratio,
            ..Limits::default()
        },
        report: args.report_mode(),
    };
    let mut scanner = engine
        .scanner(opts)
        .map_err(|e| io::Error::other(e.to_string()))?;
    while n > 0 {
        let v = scanner
            .feed(&buf[..n])
            .map_err(|e| io::Error::other(e.to_string()))?;
        if matches!(v, Verdict::Uninspectable(_)) || scanner.stopped() {
            break;
        }
        n = read_some(r, buf)?;
    }
    scanner
        .finish()
        .map_err(|e| io::Error::other(e.to_string()))
}
