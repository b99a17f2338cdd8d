//! PHI detection engine of phimesh.
//!
//! One [`Engine`] is compiled at start (a Hyperscan streaming database plus validators) and shared
//! by every connection. Each inspected body, per direction, gets its own [`Scanner`], which is fed
//! bytes in whatever chunking the network delivers and reports the same findings, at the same
//! absolute offsets, as a one-shot scan of the whole body.
//!
//! The data flows `input → decode (gzip/deflate/gRPC framing) → normalize (percent, JSON and
//! HTML escapes, Unicode look-alikes, in two stages) → Hyperscan stream → validators → findings
//! → verdict`. Beside it, the scanner's *views* (`scanner/views.rs`) decode what is encoded
//! inside the content whatever the headers say — gzip by its magic, zlib and UTF-16 where a
//! segment begins, base64 runs, quoted-printable parts — into child scanners whose findings are
//! the stream's own, under one budget and a depth bound for the whole nest.
//!
//! Modules by stage: `types` (the vocabulary: limits, options, findings, verdicts), `rules` and
//! `validate` (the detectors), `plan` and `engine` (compiled databases), `decode`, `normalize`,
//! `scanner` (+ `scanner/views`), `shapes`, `tokens`, `csv`, `capped`.
//!
//! # Hold-back
//! A caller that must not let PHI leave (plaintext egress) forwards only the input bytes before
//! [`Scanner::releasable`] and holds back the rest until more input or the end of the body arrives.
//! Invariant: no byte of any match that may still be reported lies before `releasable()`.
//!
//! # Report modes
//! [`StreamOptions::report`] says how much the report must list ([`ReportMode`]): every finding,
//! the kinds, or only the verdict (the stream stops reading once it is PHI). In every mode a
//! detector whose findings can no longer change the report stops costing validation, and a
//! matcher all of whose detectors are so stops running. The verdict and the hold-back are the
//! same in every mode while the stream is clean.
//!
//! # Never a value
//! Findings carry a [`Kind`] and offsets, never matched bytes. No error, log line or panic message
//! in this crate contains input bytes.

#![deny(missing_docs)]

mod capped;
mod csv;
mod decode;
mod engine;
mod normalize;
mod scanner;
mod shapes;
mod tokens;
mod types;

pub use engine::{BuildError, Engine};
pub use phimesh_rules::rules::Kind;

/// The detectors (kinds, roles, patterns, validators), from `phimesh-rules`.
pub(crate) use phimesh_rules::{plan, rules, validate};
pub use scanner::Scanner;
pub use types::{
    Decoding, Finding, Limits, Report, ReportMode, ScanError, StreamOptions, Uninspectable, Verdict,
};

/// The built-in detectors' patterns, for benchmarks that compare other matchers on the same
/// expressions. Not a stable interface.
#[doc(hidden)]
pub fn builtin_patterns() -> Vec<&'static str> {
    rules::builtin().iter().map(|r| r.pattern).collect()
}

/// [`builtin_patterns`] without the whole-token detectors' (bare card numbers and MBIs), which
/// have no literal for a regex engine to anchor on. Not a stable interface.
#[doc(hidden)]
pub fn anchored_patterns() -> Vec<&'static str> {
    rules::builtin()
        .iter()
        .filter(|r| r.pass != rules::TOKENS)
        .map(|r| r.pattern)
        .collect()
}

/// Synthetic traffic shared by the benchmarks and the speed probes (not part of the API).
#[doc(hidden)]
pub mod bench_data {
    /// Lines of a clean, digit-heavy JSON API access log: epoch times, order and customer
    /// numbers, amounts, a 128-bit hex trace id, item ids and a zip code. Deterministic for a
    /// seed (xorshift64).
    pub struct ApiLogLines(u64);

    impl ApiLogLines {
        /// Lines from `seed` (non-zero).
        pub fn new(seed: u64) -> Self {
            ApiLogLines(seed)
        }

        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }
    }

    impl Iterator for ApiLogLines {
        type Item = String;

        fn next(&mut self) -> Option<String> {
            Some(format!(
                "{{\"ts\":{},\"order_id\":{},\"customer\":{},\"amount\":{}.{:02},\"latency_ms\":{},\"status\":{},\"trace\":\"{:016x}{:016x}\",\"items\":[{},{},{}],\"zip\":\"{:05}\"}}\n",
                1_700_000_000 + self.below(50_000_000),
                self.below(1_000_000_000),
                self.below(100_000_000),
                self.below(10_000),
                self.below(100),
                self.below(2000),
                [200, 201, 204, 404, 500][self.below(5) as usize],
                self.next_u64(),
                self.next_u64(),
                self.below(100_000),
                self.below(100_000),
                self.below(100_000),
                self.below(100_000),
            ))
        }
    }

    /// At least `len` bytes of [`ApiLogLines`] (whole lines).
    pub fn api_log(len: usize, seed: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 512);
        for line in ApiLogLines::new(seed) {
            if out.len() >= len {
                break;
            }
            out.extend_from_slice(line.as_bytes());
        }
        out
    }
}

/// Reproducible inputs for the crate's tests.
#[cfg(test)]
pub(crate) mod testing {
    /// xorshift64: a small, reproducible stream of numbers.
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed | 1)
        }

        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// `len` bytes drawn from `alphabet`.
    pub(crate) fn text(seed: u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        let mut r = Rng::new(seed);
        (0..len)
            .map(|_| alphabet[r.below(alphabet.len() as u64) as usize])
            .collect()
    }
}
