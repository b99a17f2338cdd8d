//! How the detectors become Hyperscan databases, and how those databases are stored.
//!
//! Shared by the engine and by the crate's build script (`detect/build.rs`), which compiles the
//! built-in detectors once at build time and embeds the serialised databases in the binary, so
//! that `phimesh scan` and the proxy start without spending a fifth of a second in Hyperscan's
//! compiler. The engine checks the embedded copy against the detectors it was built from (a
//! fingerprint of every pattern and its settings) and compiles afresh when they differ or when the
//! CPU cannot run it.

use hyperscan::prelude::*;
use hyperscan::{CompileFlags, Pattern, Patterns, SomHorizon};

use crate::rules::{in_hyperscan, Role, Rule};

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

/// The compiled form of a rule set.
pub struct Compiled {
    /// Maximum match width of each detector, its lookbehind included.
    pub widths: Vec<usize>,
    /// The shortest match of any detector (Hyperscan's, token or shape): content shorter than
    /// this cannot hold a finding.
    pub min_width: usize,
    /// One database per non-empty pass, in pass order. Pattern ids are rule indexes.
    pub passes: Vec<StreamingDatabase>,
    /// Values that count only after their label ([`Role::Keyed`]).
    pub keyed: Option<StreamingDatabase>,
    /// Every pass's detectors in one block-mode database, for a short message scanned whole
    /// (a request head, a small body that arrived in one piece): one call instead of a stream
    /// per pass to open, scan, and reset. The passes are split for long streams, where a
    /// scanner drops a pass once it can add nothing; a message this database scans is too short
    /// for that to pay.
    pub whole: Option<BlockDatabase>,
}

/// Patterns of each database and the widths, before compilation.
struct Groups {
    widths: Vec<usize>,
    min_width: usize,
    passes: Vec<Vec<Pattern>>,
    keyed: Vec<Pattern>,
}

fn group(rules: &[Rule]) -> Result<Groups, BuildError> {
    let mut widths = Vec::with_capacity(rules.len());
    let mut min_width = usize::MAX;
    let mut passes: Vec<(u8, Vec<Pattern>)> = Vec::new();
    let mut keyed = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        // Start-of-match tracking costs Hyperscan dearly on patterns with wide bounded gaps;
        // detectors without it get the widest window that can hold their match.
        let flags = if rule.som {
            CompileFlags::SOM_LEFTMOST
        } else {
            CompileFlags::empty()
        };
        let mut p = Pattern::with_flags(rule.pattern, flags).map_err(|e| BuildError::Compile {
            index,
            message: e.to_string(),
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
        if w == u32::MAX as usize || w == 0 {
            return Err(BuildError::Unbounded { index });
        }
        widths.push(w + rule.lookbehind);
        // Every detector counts, labels and context words included (a token or shape detector's
        // pattern describes what it finds).
        min_width = min_width.min(info.min_width());
        if !in_hyperscan(rule.pass) {
            // Found by `tokens.rs` or `shapes.rs`; the pattern only sets the width.
        } else if rule.role == Role::Keyed {
            keyed.push(p);
        } else {
            match passes.iter_mut().find(|(n, _)| *n == rule.pass) {
                Some((_, v)) => v.push(p),
                None => passes.push((rule.pass, vec![p])),
            }
        }
    }
    passes.sort_by_key(|(n, _)| *n);
    Ok(Groups {
        widths,
        // No rules: nothing can be found, but an empty input is still scanned as before.
        min_width: if min_width == usize::MAX {
            0
        } else {
            min_width
        },
        passes: passes.into_iter().map(|(_, v)| v).collect(),
        keyed,
    })
}

fn build<T: Mode>(patterns: Vec<Pattern>) -> Result<Database<T>, BuildError> {
    Patterns(patterns).build().map_err(|e| BuildError::Compile {
        index: usize::MAX,
        message: e.to_string(),
    })
}

/// Compiles a rule set.
pub fn compile(rules: &[Rule]) -> Result<Compiled, BuildError> {
    let g = group(rules)?;
    let all: Vec<Pattern> = g.passes.iter().flatten().cloned().collect();
    let whole = if all.is_empty() {
        None
    } else {
        Some(build(all)?)
    };
    let passes = g
        .passes
        .into_iter()
        .map(build)
        .collect::<Result<Vec<_>, _>>()?;
    let keyed = if g.keyed.is_empty() {
        None
    } else {
        Some(build(g.keyed)?)
    };
    Ok(Compiled {
        widths: g.widths,
        min_width: g.min_width,
        passes,
        keyed,
        whole,
    })
}

/// A fingerprint of everything about a rule set that goes into its databases (FNV-1a, 64 bit):
/// an embedded database is used only for the rule set it was compiled from.
pub fn fingerprint(rules: &[Rule]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&(rules.len() as u64).to_le_bytes());
    for r in rules {
        eat(r.pattern.as_bytes());
        eat(&[0xff, r.role as u8, u8::from(r.som), r.pass, r.kind as u8]);
        eat(&(r.lookbehind as u64).to_le_bytes());
    }
    h
}

const MAGIC: &[u8; 8] = b"PHMDB\x00\x00\x03";

/// Serialises compiled databases with the fingerprint of their rule set (used by the build
/// script and the tests).
#[cfg_attr(not(test), allow(dead_code))]
pub fn encode(c: &Compiled, fingerprint: u64) -> Result<Vec<u8>, BuildError> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&fingerprint.to_le_bytes());
    out.extend_from_slice(&(c.widths.len() as u64).to_le_bytes());
    for w in &c.widths {
        out.extend_from_slice(&(*w as u64).to_le_bytes());
    }
    out.extend_from_slice(&(c.min_width as u64).to_le_bytes());
    let dbs: Vec<&StreamingDatabase> = c.passes.iter().chain(c.keyed.as_ref()).collect();
    out.extend_from_slice(&(c.passes.len() as u64).to_le_bytes());
    out.extend_from_slice(&u64::from(c.keyed.is_some()).to_le_bytes());
    out.extend_from_slice(&u64::from(c.whole.is_some()).to_le_bytes());
    let mut put = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    for db in dbs {
        put(&db
            .serialize()
            .map_err(|e| BuildError::Alloc(e.to_string()))?);
    }
    if let Some(db) = &c.whole {
        put(&db
            .serialize()
            .map_err(|e| BuildError::Alloc(e.to_string()))?);
    }
    Ok(out)
}

/// Reads databases written by [`encode`]. `None` when the bytes are empty, damaged, made for
/// another rule set, or refused by Hyperscan (another version or a CPU without the features
/// they were compiled for).
pub fn decode(bytes: &[u8], fingerprint: u64, rules: usize) -> Option<Compiled> {
    let mut r = Reader(bytes);
    if r.take(MAGIC.len())? != MAGIC || r.u64()? != fingerprint {
        return None;
    }
    let n = usize::try_from(r.u64()?).ok()?;
    if n != rules {
        return None;
    }
    let widths = (0..n)
        .map(|_| r.u64().and_then(|w| usize::try_from(w).ok()))
        .collect::<Option<Vec<_>>>()?;
    let min_width = usize::try_from(r.u64()?).ok()?;
    let passes = usize::try_from(r.u64()?).ok()?;
    let flag = |r: &mut Reader<'_>| match r.u64()? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    };
    let has_keyed = flag(&mut r)?;
    let has_whole = flag(&mut r)?;
    fn db<T: Mode>(r: &mut Reader<'_>) -> Option<Database<T>> {
        let len = usize::try_from(r.u64()?).ok()?;
        let b = r.take(len)?;
        hyperscan::Serialized::deserialize(&b).ok()
    }
    let passes = (0..passes)
        .map(|_| db(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let keyed = if has_keyed { Some(db(&mut r)?) } else { None };
    let whole = if has_whole { Some(db(&mut r)?) } else { None };
    if !r.0.is_empty() {
        return None;
    }
    Some(Compiled {
        widths,
        min_width,
        passes,
        keyed,
        whole,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}
