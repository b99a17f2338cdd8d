//! The crate's vocabulary, used by every stage: the bounds and options of a stream, what it
//! finds and decides, and the raw matches the matchers hand to the validators. A leaf module:
//! it imports nothing of the crate but the detector kinds.

use std::fmt;

use crate::rules::Kind;

/// Transfer decoding of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decoding {
    /// Bytes are scanned as they are.
    #[default]
    Identity,
    /// `Content-Encoding: gzip` (or a `.gz` file).
    Gzip,
    /// `Content-Encoding: deflate`: zlib-wrapped, or raw deflate as some servers send it.
    Deflate,
    /// gRPC length-prefixed messages; compressed messages use `compression` (`grpc-encoding`).
    Grpc {
        /// The stream's `grpc-encoding`; `None` means identity or unknown.
        compression: Option<Compression>,
        /// True when `grpc-encoding` named something other than gzip/deflate/identity.
        unknown_compression: bool,
    },
}

/// A compression scheme for gRPC messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip
    Gzip,
    /// deflate (zlib or raw)
    Deflate,
}

impl Decoding {
    /// Maps an HTTP `Content-Encoding` value. `None` for encodings the scanner cannot read
    /// (callers that refuse PHI treat those as uninspectable).
    pub fn from_content_encoding(value: &str) -> Option<Decoding> {
        let v = value.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("identity") {
            Some(Decoding::Identity)
        } else if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") {
            Some(Decoding::Gzip)
        } else if v.eq_ignore_ascii_case("deflate") {
            Some(Decoding::Deflate)
        } else {
            None
        }
    }

    /// gRPC framing with the compression named by a `grpc-encoding` header value (if any).
    pub fn grpc(grpc_encoding: Option<&str>) -> Decoding {
        let (compression, unknown_compression) = match grpc_encoding.map(str::trim) {
            None | Some("") | Some("identity") => (None, false),
            Some(v) if v.eq_ignore_ascii_case("gzip") => (Some(Compression::Gzip), false),
            Some(v) if v.eq_ignore_ascii_case("deflate") => (Some(Compression::Deflate), false),
            Some(_) => (None, true),
        };
        Decoding::Grpc {
            compression,
            unknown_compression,
        }
    }
}

/// Bounds applied to one stream. Every limit, when exceeded, makes the stream
/// [`Verdict::Uninspectable`] (never silently clean).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most content bytes (after decompression) inspected before the stream is uninspectable.
    pub max_content_bytes: u64,
    /// Most decompressed bytes per compressed byte, checked once `ratio_grace_bytes` are out.
    pub max_ratio: u64,
    /// Decompressed bytes allowed before the ratio check starts (small bodies compress well).
    pub ratio_grace_bytes: u64,
    /// Most findings listed, of those that are PHI alone and again of those that need patient
    /// context: the ones with the lowest offsets, whatever the chunking (see `capped.rs` for the
    /// finding at the cut). The rest still count towards the verdict but are not listed.
    pub max_findings: usize,
    /// Most bytes of one gRPC message (its length prefix is checked before anything is buffered).
    pub max_grpc_message: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_content_bytes: u64::MAX,
            max_ratio: 100,
            ratio_grace_bytes: 1 << 20,
            max_findings: 1024,
            max_grpc_message: 4 << 20,
        }
    }
}

/// How much a stream's report must list: what the caller's decision needs, and no more work
/// than that.
///
/// Every mode scans alike until the verdict is PHI, so the verdict and the hold-back
/// ([`Scanner::releasable`](crate::Scanner::releasable)) are the same in each while the stream
/// is clean or uninspectable. In every mode a detector stops costing validation once nothing it
/// finds can change the report (its findings list is full, or the context or label it gives is
/// already known), and a matcher all of whose detectors are so stops running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ReportMode {
    /// Every finding, up to [`Limits::max_findings`] of each list (the lowest offsets, whatever
    /// the chunking).
    #[default]
    All,
    /// The kinds `All` lists, each with its first finding `All` lists: the audit line of a
    /// message that is forwarded.
    Kinds,
    /// Only the verdict: as `Kinds` until the verdict is PHI, then the stream stops reading,
    /// at the end of the input chunk that made it so, and lists the kinds found until then (at
    /// least one). Later input is not read: it counts in
    /// [`Scanner::input_len`](crate::Scanner::input_len) but is never releasable. For callers
    /// that refuse PHI, which release nothing once the verdict is PHI.
    First,
}

impl ReportMode {
    /// Stable label (`all`, `kinds`, `first`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportMode::All => "all",
            ReportMode::Kinds => "kinds",
            ReportMode::First => "first",
        }
    }
}

/// How a stream's bytes are to be read before scanning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// Transfer decoding applied first (gzip, deflate, gRPC framing).
    pub decoding: Decoding,
    /// Decode `+` as a space (form bodies and URL query strings). Percent-encoding and JSON
    /// string escapes are always decoded.
    pub plus_as_space: bool,
    /// Bounds of this stream.
    pub limits: Limits,
    /// What the report must list ([`ReportMode::All`] by default).
    pub report: ReportMode,
}

/// One detected PHI element: its kind and where it is, never its value.
///
/// Offsets are absolute, in content coordinates: the bytes after transfer decoding (gzip,
/// deflate, gRPC message framing), before percent/JSON-escape normalisation. For an uncompressed
/// body that is the body as it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    /// What was found.
    pub kind: Kind,
    /// First byte of the match.
    pub start: u64,
    /// One past the last byte of the match.
    pub end: u64,
}

/// Why a stream could not be inspected. Each reason is a fixed, value-free label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Uninspectable {
    /// Compressed data that is not valid gzip/deflate.
    CorruptCompression,
    /// Compressed data that ended before its end marker.
    TruncatedCompression,
    /// Decompression expanded beyond [`Limits::max_ratio`] (a compression bomb).
    CompressionRatio,
    /// More content than [`Limits::max_content_bytes`].
    ContentTooLarge,
    /// A gRPC message frame that is malformed, truncated or over [`Limits::max_grpc_message`].
    MalformedGrpc,
    /// A gRPC message compressed with an encoding the scanner cannot read.
    UnsupportedEncoding,
    /// Encoded content nested deeper than the engine decodes (base64 in gzip in base64 ...),
    /// or more compressed segments open at once than it follows.
    NestingTooDeep,
}

impl Uninspectable {
    /// Stable snake_case label for JSON output, metrics and audit lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Uninspectable::CorruptCompression => "corrupt_compression",
            Uninspectable::TruncatedCompression => "truncated_compression",
            Uninspectable::CompressionRatio => "compression_ratio",
            Uninspectable::ContentTooLarge => "content_too_large",
            Uninspectable::MalformedGrpc => "malformed_grpc",
            Uninspectable::UnsupportedEncoding => "unsupported_encoding",
            Uninspectable::NestingTooDeep => "nesting_too_deep",
        }
    }
}

impl fmt::Display for Uninspectable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decision about a stream so far (or at its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No PHI found (so far).
    Clean,
    /// A patient can be identified in the content.
    Phi,
    /// The content cannot be inspected within bounds; callers that would refuse PHI refuse this.
    Uninspectable(Uninspectable),
}

/// Errors of the scanner itself (not of the content). They carry no input bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Hyperscan refused to scan (out of memory, bad scratch). Treat the stream as uninspectable.
    #[error("hyperscan scan failed: {0}")]
    Engine(String),
    /// Input fed after the stream ended: it was not scanned, so it must not pass as clean.
    #[error("input fed after the end of the stream")]
    AfterEnd,
}

/// What a finished stream amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The final verdict.
    pub verdict: Verdict,
    /// Findings that make the verdict (empty when clean), in order of start offset.
    pub findings: Vec<Finding>,
    /// Content bytes inspected.
    pub content_bytes: u64,
}

impl Report {
    /// Distinct kinds among the findings, in a stable order.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut k: Vec<Kind> = self.findings.iter().map(|f| f.kind).collect();
        k.sort();
        k.dedup();
        k
    }
}

/// A raw Hyperscan match: detector index and normalised offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawMatch {
    pub(crate) id: usize,
    pub(crate) from: u64,
    pub(crate) to: u64,
}
