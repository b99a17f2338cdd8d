//! The compiled engine: one Hyperscan streaming database for all detectors, built once and
//! shared (cheap to clone), plus per-thread scratch space.
//!
//! Hyperscan scratch is per thread: a search borrows the calling thread's scratch for the length
//! of one `feed` call, so scanners can move between tokio worker threads between calls.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hyperscan::prelude::*;
use hyperscan::ScratchRef;
use hyperscan::{CompileFlags, Pattern, Patterns, SomHorizon};

use crate::rules::{self, Rule};
use crate::scanner::{ScanError, Scanner, StreamOptions};

/// Why the engine could not be built. These are programming or platform errors (a pattern
/// Hyperscan rejects, a CPU it does not support), reported at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Hyperscan rejected a pattern or the database.
    #[error("hyperscan could not compile detector {index}: {message}")]
    Compile {
        /// Index of the detector.
        index: usize,
        /// Hyperscan's message (about the pattern, not about any input).
        message: String,
    },
    /// A detector can match unbounded input, so no hold-back window could cover it.
    #[error("detector {index} has no bounded match width")]
    Unbounded {
        /// Index of the detector.
        index: usize,
    },
    /// Hyperscan failed to allocate scratch or stream state.
    #[error("hyperscan allocation failed: {0}")]
    Alloc(String),
}

pub(crate) struct Inner {
    id: u64,
    db: StreamingDatabase,
    keyed_db: Option<StreamingDatabase>,
    rules: Vec<Rule>,
    /// Maximum match width of each detector.
    widths: Vec<usize>,
    /// Widest possible match plus one byte of lookahead for trailing boundaries.
    hold_back: usize,
    /// History kept per stream for validators: at least the widest match.
    history: usize,
    stream_size: usize,
}

/// The compiled detection engine. Clone it freely: clones share one immutable database.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.0.rules.len())
            .field("hold_back", &self.0.hold_back)
            .field("stream_size", &self.0.stream_size)
            .finish()
    }
}

/// A raw Hyperscan match: detector index and normalised offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawMatch {
    pub(crate) id: usize,
    pub(crate) from: u64,
    pub(crate) to: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Scratch per (thread, engine). Few engines exist in a process (one in production).
    static SCRATCH: RefCell<Vec<(u64, Scratch)>> = const { RefCell::new(Vec::new()) };
}

/// Most engines whose scratch a thread keeps at once.
const SCRATCH_SLOTS: usize = 4;

/// An open Hyperscan stream. Closed (and its memory freed) on drop.
pub(crate) struct HsStream {
    stream: Option<Stream>,
    engine: Engine,
}

impl Drop for HsStream {
    fn drop(&mut self) {
        if let Some(s) = self.stream.take() {
            // hyperscan's `Stream` does not free itself on drop; close it without a callback.
            let _ = self.engine.with_scratch(|scratch| {
                s.close(scratch, ())
                    .map_err(|e| ScanError::Engine(e.to_string()))
            });
        }
    }
}

impl Engine {
    /// Builds the engine with the built-in detectors.
    pub fn new() -> Result<Engine, BuildError> {
        Self::with_rules(rules::builtin())
    }

    pub(crate) fn with_rules(rules: Vec<Rule>) -> Result<Engine, BuildError> {
        let mut patterns = Vec::with_capacity(rules.len());
        let mut keyed_patterns = Vec::new();
        let mut widest = 0usize;
        let mut widths = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            let mut p =
                Pattern::with_flags(rule.pattern, CompileFlags::SOM_LEFTMOST).map_err(|e| {
                    BuildError::Compile {
                        index,
                        message: e.to_string(),
                    }
                })?;
            p.id = Some(index);
            if rule.som {
                p.som = Some(SomHorizon::Small);
            }
            let info = p.info().map_err(|e| BuildError::Compile {
                index,
                message: e.to_string(),
            })?;
            let w = info.max_width();
            let lookbehind = rule.lookbehind;
            if w == u32::MAX as usize || w == 0 {
                return Err(BuildError::Unbounded { index });
            }
            widest = widest.max(w + lookbehind);
            widths.push(w + lookbehind);
            if rule.role == crate::rules::Role::Keyed {
                keyed_patterns.push(p);
            } else {
                patterns.push(p);
            }
        }
        let build = |patterns: Vec<Pattern>| -> Result<StreamingDatabase, BuildError> {
            Patterns(patterns).build().map_err(|e| BuildError::Compile {
                index: usize::MAX,
                message: e.to_string(),
            })
        };
        let db = build(patterns)?;
        // Values that count only after their label live in a second database, opened per
        // stream only once a label has been seen: they cost nothing elsewhere.
        let keyed_db = if keyed_patterns.is_empty() {
            None
        } else {
            Some(build(keyed_patterns)?)
        };
        let stream_size = db
            .stream_size()
            .map_err(|e| BuildError::Alloc(e.to_string()))?
            + match &keyed_db {
                Some(k) => k
                    .stream_size()
                    .map_err(|e| BuildError::Alloc(e.to_string()))?,
                None => 0,
            };
        let inner = Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            db,
            keyed_db,
            rules,
            widths,
            hold_back: widest + 1,
            // The widest match, its lookahead byte and the byte before it (left boundary).
            history: widest + 2,
            stream_size,
        };
        let engine = Engine(Arc::new(inner));
        // Allocate this thread's scratch now so a broken platform fails at start.
        engine
            .with_scratch(|_| Ok(()))
            .map_err(|e| BuildError::Alloc(e.to_string()))?;
        Ok(engine)
    }

    /// Opens a scanner for one body in one direction.
    pub fn scanner(&self, opts: StreamOptions) -> Result<Scanner, ScanError> {
        Scanner::new(self.clone(), opts)
    }

    /// W: how many trailing normalised bytes a caller must hold back (the widest possible match
    /// plus one byte of lookahead). In input bytes the window is larger when escapes or
    /// compression are involved; [`Scanner::releasable`] accounts for that.
    pub fn hold_back(&self) -> usize {
        self.0.hold_back
    }

    /// Bytes of Hyperscan stream state per open scanner.
    pub fn stream_size(&self) -> usize {
        self.0.stream_size
    }

    /// Number of compiled detectors.
    pub fn detectors(&self) -> usize {
        self.0.rules.len()
    }

    pub(crate) fn history_len(&self) -> usize {
        self.0.history
    }

    pub(crate) fn rule(&self, id: usize) -> &Rule {
        &self.0.rules[id]
    }

    /// Start of a match: Hyperscan's start of match, or for detectors without it the
    /// earliest byte the widest match ending at `to` could start at.
    fn match_start(&self, id: usize, from: u64, to: u64) -> u64 {
        if self.0.rules[id].som {
            from.saturating_sub(self.0.rules[id].lookbehind as u64)
        } else {
            to.saturating_sub(self.0.widths[id] as u64)
        }
    }

    fn with_scratch<T>(
        &self,
        f: impl FnOnce(&ScratchRef) -> Result<T, ScanError>,
    ) -> Result<T, ScanError> {
        SCRATCH.with(|cell| {
            let mut slots = cell.borrow_mut();
            let idx = match slots.iter().position(|(id, _)| *id == self.0.id) {
                Some(i) => i,
                None => {
                    let mut s = self
                        .0
                        .db
                        .alloc_scratch()
                        .map_err(|e| ScanError::Engine(e.to_string()))?;
                    if let Some(k) = &self.0.keyed_db {
                        // One scratch serves both databases.
                        k.realloc_scratch(&mut s)
                            .map_err(|e| ScanError::Engine(e.to_string()))?;
                    }
                    if slots.len() >= SCRATCH_SLOTS {
                        slots.remove(0);
                    }
                    slots.push((self.0.id, s));
                    slots.len() - 1
                }
            };
            f(&slots[idx].1)
        })
    }

    /// Opens a stream on the database of label-dependent values, if there is one.
    pub(crate) fn open_keyed_stream(&self) -> Result<Option<HsStream>, ScanError> {
        let Some(k) = &self.0.keyed_db else {
            return Ok(None);
        };
        let s = k
            .open_stream()
            .map_err(|e| ScanError::Engine(e.to_string()))?;
        Ok(Some(HsStream {
            stream: Some(s),
            engine: self.clone(),
        }))
    }

    pub(crate) fn open_stream(&self) -> Result<HsStream, ScanError> {
        let s = self
            .0
            .db
            .open_stream()
            .map_err(|e| ScanError::Engine(e.to_string()))?;
        Ok(HsStream {
            stream: Some(s),
            engine: self.clone(),
        })
    }

    pub(crate) fn scan_stream(
        &self,
        stream: &mut HsStream,
        data: &[u8],
        out: &mut Vec<RawMatch>,
    ) -> Result<(), ScanError> {
        let Some(s) = stream.stream.as_ref() else {
            return Ok(());
        };
        for piece in data.chunks(u32::MAX as usize) {
            self.with_scratch(|scratch| {
                s.scan(piece, scratch, self.collector(out))
                    .map_err(|e| ScanError::Engine(e.to_string()))
            })?;
        }
        Ok(())
    }

    /// The match callback: records each match with its start of match.
    fn collector<'a>(
        &'a self,
        out: &'a mut Vec<RawMatch>,
    ) -> impl FnMut(u32, u64, u64, u32) -> Matching + 'a {
        move |id, from, to, _flags| {
            let id = id as usize;
            out.push(RawMatch {
                id,
                from: self.match_start(id, from, to),
                to,
            });
            Matching::Continue
        }
    }

    pub(crate) fn close_stream(
        &self,
        stream: &mut HsStream,
        out: &mut Vec<RawMatch>,
    ) -> Result<(), ScanError> {
        let Some(s) = stream.stream.take() else {
            return Ok(());
        };
        self.with_scratch(|scratch| {
            s.close(scratch, self.collector(out))
                .map_err(|e| ScanError::Engine(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_detector_compiles_alone() {
        let mut failed = Vec::new();
        for (i, r) in rules::builtin().into_iter().enumerate() {
            let kind = r.kind;
            // A label-dependent value needs a main database beside it: give it its label.
            let set = if r.role == crate::rules::Role::Keyed {
                let key = rules::builtin()
                    .into_iter()
                    .find(|k| k.role == crate::rules::Role::Key && k.kind == kind)
                    .expect("a label for every keyed value");
                vec![key, r]
            } else {
                vec![r]
            };
            match Engine::with_rules(set) {
                Ok(e) => eprintln!(
                    "detector {i} ({kind}): stream {} bytes, hold-back {}",
                    e.stream_size(),
                    e.hold_back()
                ),
                Err(err) => {
                    eprintln!("detector {i} ({kind}): {err}");
                    failed.push(i);
                }
            }
        }
        assert!(
            failed.is_empty(),
            "detectors that do not compile: {failed:?}"
        );
    }
}

#[cfg(test)]
mod perf_probe {
    use super::*;

    /// Prints per-detector throughput on a digit-heavy log (run with --release --ignored).
    #[test]
    #[ignore]
    fn per_detector_throughput() {
        let mut data = Vec::new();
        let mut x: u64 = 88172645463325252;
        while data.len() < 8 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(
                format!(
                    "{{\"ts\":{},\"order_id\":{},\"amount\":{}.{:02},\"trace\":\"{:016x}\"}}\n",
                    1_700_000_000 + x % 50_000_000,
                    x % 1_000_000_000,
                    x % 10000,
                    x % 100,
                    x
                )
                .as_bytes(),
            );
        }
        let n = rules::builtin().len();
        for som in [true, false] {
            for i in 0..n {
                let mut r = rules::builtin().swap_remove(i);
                r.som = som && r.som;
                let kind = r.kind;
                let e = match Engine::with_rules(vec![r]) {
                    Ok(e) => e,
                    Err(err) => {
                        eprintln!("{i} {kind}: {err}");
                        continue;
                    }
                };
                let mut s = e.open_stream().unwrap();
                let mut m = Vec::new();
                let t = std::time::Instant::now();
                e.scan_stream(&mut s, &data, &mut m).unwrap();
                let dt = t.elapsed().as_secs_f64();
                eprintln!(
                    "som={som} {i:2} {kind:15} {:8.0} MB/s matches={}",
                    data.len() as f64 / dt / 1e6,
                    m.len()
                );
            }
        }
    }

    /// Prints the whole database's throughput without each detector in turn (run with
    /// --release --ignored): where the time goes.
    #[test]
    #[ignore]
    fn leave_one_out_throughput() {
        let mut data = Vec::new();
        let mut x: u64 = 88172645463325252;
        while data.len() < 8 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(format!("{{\"ts\":{},\"order_id\":{},\"amount\":{}.{:02},\"trace\":\"{:016x}\",\"status\":200}}\n", 1_700_000_000 + x % 50_000_000, x % 1_000_000_000, x % 10000, x % 100, x).as_bytes());
        }
        let n = rules::builtin().len();
        for skip in std::iter::once(usize::MAX).chain(0..n) {
            let rules: Vec<Rule> = rules::builtin()
                .into_iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, r)| r)
                .collect();
            let e = Engine::with_rules(rules).unwrap();
            let mut s = e.open_stream().unwrap();
            let mut m = Vec::new();
            let t = std::time::Instant::now();
            e.scan_stream(&mut s, &data, &mut m).unwrap();
            let name = if skip == usize::MAX {
                "none".to_string()
            } else {
                format!("{skip} {}", rules::builtin()[skip].kind)
            };
            eprintln!(
                "without {name:20} {:6.0} MB/s matches={}",
                data.len() as f64 / t.elapsed().as_secs_f64() / 1e6,
                m.len()
            );
        }
    }
}
