//! PHI detection engine of phimesh.
//!
//! One [`Engine`] is compiled at start (a Hyperscan streaming database plus validators) and shared
//! by every connection. Each inspected body, per direction, gets its own [`Scanner`], which is fed
//! bytes in whatever chunking the network delivers and reports the same findings, at the same
//! absolute offsets, as a one-shot scan of the whole body.
//!
//! The data flows `input → decode (gzip/deflate/gRPC framing) → normalize (percent, JSON escapes)
//! → Hyperscan stream → validators → findings → verdict`.
//!
//! # Hold-back
//! A caller that must not let PHI leave (plaintext egress) forwards only the input bytes before
//! [`Scanner::releasable`] and holds back the rest until more input or the end of the body arrives.
//! Invariant: no byte of any match that may still be reported lies before `releasable()`.
//!
//! # Never a value
//! Findings carry a [`Kind`] and offsets, never matched bytes. No error, log line or panic message
//! in this crate contains input bytes.

#![deny(missing_docs)]

mod csv;
mod decode;
mod engine;
mod normalize;
mod plan;
mod rules;
mod scanner;
mod validate;

pub use decode::Decoding;
pub use engine::{BuildError, Engine};
pub use rules::Kind;
pub use scanner::{
    Finding, Limits, Report, ScanError, Scanner, StreamOptions, Uninspectable, Verdict,
};

/// The built-in detectors' Hyperscan patterns, for benchmarks that compare other matchers on
/// the same expressions. Not a stable interface.
#[doc(hidden)]
pub fn builtin_patterns() -> Vec<&'static str> {
    rules::builtin().iter().map(|r| r.pattern).collect()
}
