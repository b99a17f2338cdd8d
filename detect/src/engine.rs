//! The compiled engine: the detectors as Hyperscan streaming databases, built once and shared
//! (cheap to clone), plus per-thread scratch space.
//!
//! Detectors run in a few passes (see [`crate::rules::Rule::pass`]): one database per pass, one
//! stream per pass and scanner. Values that count only after their label live in one more
//! database, opened per stream only once a label has been seen.
//!
//! Hyperscan scratch is per thread: a search borrows the calling thread's scratch for the length
//! of one `feed` call, so scanners can move between tokio worker threads between calls.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hyperscan::prelude::*;
use hyperscan::ScratchRef;

pub use crate::plan::BuildError;
use crate::plan::{self, Compiled};
use crate::rules::{self, Kind, Role, Rule};
use crate::shapes::{ShapeRules, ShapeStream};
use crate::tokens::{TokenRules, TokenStream};
use crate::types::{RawMatch, ScanError};

/// The built-in detectors compiled at build time (see `detect/build.rs`); empty when the build
/// could not compile them.
static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/engine.bin"));

pub(crate) struct Inner {
    id: u64,
    passes: Vec<StreamingDatabase>,
    keyed_db: Option<StreamingDatabase>,
    /// Every pass in one block-mode database, for short messages scanned whole.
    whole: Option<BlockDatabase>,
    rules: Vec<Rule>,
    /// Detectors found as whole tokens outside Hyperscan.
    tokens: TokenRules,
    /// Detectors found as separated digit groups outside Hyperscan.
    shapes: ShapeRules,
    /// Maximum match width of each detector.
    widths: Vec<usize>,
    /// The shortest match of any detector.
    min_width: usize,
    /// Widest possible match plus one byte of lookahead for trailing boundaries.
    hold_back: usize,
    /// History kept per stream for validators: at least the widest match.
    history: usize,
    stream_size: usize,
    precompiled: bool,
    /// The detectors of each matcher and role, as bit sets of rule ids.
    masks: Masks,
    /// Streams of finished scanners, reset and ready for the next: opening and closing
    /// Hyperscan streams (an allocation and a free each) was a good part of a short message's
    /// cost. At most [`POOLED_STREAMS`] sets each.
    idle: Mutex<Vec<Vec<Stream>>>,
    idle_keyed: Mutex<Vec<Stream>>,
}

/// Most idle stream sets an engine keeps for reuse (per pool): bounds the memory they hold to
/// this many times [`Engine::stream_size`].
const POOLED_STREAMS: usize = 64;

/// Longest content [`Engine::scan_stream`] scans in one block-mode call when it is the whole of
/// a stream. Shorter, one call on every detector costs less than a stream per pass (a third of
/// a request head's, a quarter of a 1 KiB body's); longer, the separate passes win on content
/// dense with one detector's matches (a phone number a line), whose pass a stream drops once
/// it can add nothing (`cargo run --release -p phimesh-detect --example per_request`).
pub(crate) const WHOLE_MAX: usize = 4096;

impl Drop for Inner {
    fn drop(&mut self) {
        let mut idle: Vec<Stream> = self
            .idle
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect();
        idle.extend(
            self.idle_keyed
                .get_mut()
                .map(std::mem::take)
                .unwrap_or_default(),
        );
        if idle.is_empty() {
            return;
        }
        // Freeing a stream without a match callback does not read the scratch, but the API
        // wants one: this thread's for the engine (dropped with it), else a new one.
        let cached = SCRATCH
            .try_with(|cell| {
                let mut slots = cell.try_borrow_mut().ok()?;
                let i = slots.iter().position(|(id, _)| *id == self.id)?;
                Some(slots.remove(i).1)
            })
            .ok()
            .flatten();
        let scratch = cached.or_else(|| {
            let db = self.passes.first().or(self.keyed_db.as_ref())?;
            db.alloc_scratch().ok()
        });
        match scratch {
            Some(scratch) => {
                for s in idle {
                    let _ = s.close(&scratch, ());
                }
            }
            // No scratch to be had: the streams' memory is lost rather than freed unsafely.
            None => drop(idle),
        }
    }
}

/// A set of detectors as a bit set of rule ids. A detector whose id is 64 or more has no bit:
/// it is never left out.
pub(crate) type RuleSet = u64;

/// The bit of rule `id` in a [`RuleSet`].
pub(crate) fn rule_bit(id: usize) -> RuleSet {
    if id < 64 {
        1 << id
    } else {
        0
    }
}

/// The detectors of each matcher and of each role, so that a scanner can leave out the matches
/// (and whole matchers) that can no longer change its report.
#[derive(Debug, Default)]
pub(crate) struct Masks {
    /// Each Hyperscan pass (in the order of `Inner::passes`).
    pub(crate) passes: Vec<RuleSet>,
    /// The database of label-dependent values.
    pub(crate) keyed: RuleSet,
    /// The token scanner's and the shape scanner's.
    pub(crate) tokens: RuleSet,
    pub(crate) shapes: RuleSet,
    /// Per kind (`Kind as usize`): its labels (`Role::Key`).
    pub(crate) key: [RuleSet; Kind::ALL.len()],
    /// Every detector of patient context, and every label.
    pub(crate) context: RuleSet,
    pub(crate) all_keys: RuleSet,
    /// Every strong and keyed detector, and every contextual one.
    pub(crate) all_strong: RuleSet,
    pub(crate) all_contextual: RuleSet,
}

impl Masks {
    fn of(rules: &[Rule]) -> Masks {
        let mut m = Masks::default();
        let hyperscan = |r: &Rule| rules::in_hyperscan(r.pass) && r.role != Role::Keyed;
        let mut passes: Vec<u8> = rules
            .iter()
            .filter(|r| hyperscan(r))
            .map(|r| r.pass)
            .collect();
        passes.sort_unstable();
        passes.dedup();
        m.passes = vec![0; passes.len()];
        for (id, r) in rules.iter().enumerate() {
            let bit = rule_bit(id);
            if r.pass == rules::TOKENS {
                m.tokens |= bit;
            } else if r.pass == rules::SHAPES {
                m.shapes |= bit;
            } else if r.role == Role::Keyed {
                m.keyed |= bit;
            } else if let Some(p) = passes.iter().position(|&p| p == r.pass) {
                m.passes[p] |= bit;
            }
            match r.role {
                Role::Strong | Role::Keyed => m.all_strong |= bit,
                Role::Contextual => m.all_contextual |= bit,
                Role::Key => {
                    m.key[r.kind as usize] |= bit;
                    m.all_keys |= bit;
                }
                Role::Context => m.context |= bit,
            }
        }
        m
    }
}

/// The compiled detection engine. Clone it freely: clones share the immutable databases.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.0.rules.len())
            .field("passes", &self.0.passes.len())
            .field("hold_back", &self.0.hold_back)
            .field("stream_size", &self.0.stream_size)
            .field("precompiled", &self.0.precompiled)
            .finish()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Scratch per (thread, engine). Few engines exist in a process (one in production).
    static SCRATCH: RefCell<Vec<(u64, Scratch)>> = const { RefCell::new(Vec::new()) };
}

/// Most engines whose scratch a thread keeps at once.
const SCRATCH_SLOTS: usize = 4;

/// Open Hyperscan streams of one scanner: one per pass, or the one keyed stream. Closed (and
/// their memory freed) on drop.
///
/// The streams of the passes are taken (from the pool, or opened) when the first bytes are
/// scanned: a message with an empty or too short body never touches Hyperscan.
pub(crate) struct HsStream {
    streams: Vec<Stream>,
    /// Whether `streams` holds the streams (always, for the keyed stream).
    open: bool,
    /// Scanned whole in block mode: it takes no more data.
    sealed: bool,
    /// The token detectors' state (the main stream only, not the keyed one).
    tokens: Option<TokenStream>,
    /// The shape detectors' state (the main stream only).
    shapes: Option<ShapeStream>,
    /// The stream on the keyed database (else one stream per pass).
    keyed: bool,
    engine: Engine,
}

impl Drop for HsStream {
    fn drop(&mut self) {
        // hyperscan's `Stream` does not free itself on drop. A stream dropped before its end
        // is reset without a callback (its end-anchored matches are of no use) and kept for
        // the next scanner; past the pool's bound it is closed.
        if !self.streams.is_empty() {
            let streams = std::mem::take(&mut self.streams);
            let _ = self.engine.recycle(streams, self.keyed, None);
        }
    }
}

/// Drops the matches from `out[from..]` of the detectors in `skip`.
fn drop_skipped(out: &mut Vec<RawMatch>, from: usize, skip: RuleSet) {
    if skip != 0 && out.len() > from {
        let mut keep = from;
        for i in from..out.len() {
            if skip & rule_bit(out[i].id) == 0 {
                out[keep] = out[i];
                keep += 1;
            }
        }
        out.truncate(keep);
    }
}

/// Gives the pages of the embedded databases back once they are read: Hyperscan keeps its own
/// copy, and the 2.8 MB the binary carries would otherwise stay resident in every sidecar.
/// `MADV_PAGEOUT` reclaims them as memory pressure would, so nothing is lost whatever backs
/// them (the executable's read-only pages are read again from the file if anything touches
/// them later, another engine built in the same process); a kernel before 5.4 refuses it and
/// they stay resident.
#[allow(unsafe_code)]
fn release_embedded() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p > 0 => p as usize,
            _ => return,
        };
        let start = EMBEDDED.as_ptr() as usize;
        let from = start.next_multiple_of(page);
        let to = (start + EMBEDDED.len()) / page * page;
        if to > from {
            // SAFETY: whole pages inside `EMBEDDED`, an immutable static. MADV_PAGEOUT is a
            // hint that never changes their contents (unlike MADV_DONTNEED on private or
            // anonymous memory): nothing is written, nothing outside them is touched.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_PAGEOUT);
            }
        }
    }
}

/// Known input that every Hyperscan pass of the built-in detectors must match: a precompiled
/// database that does not is not used.
const CANARY: &[u8] =
    b"patient ssn: 123-45-6789, DOB: 1961-03-04, MRN: 4417823, phone: (415) 555-2671\n";

impl Engine {
    /// Builds the engine with the built-in detectors: from the databases compiled at build time
    /// when they fit this rule set and this CPU, otherwise by compiling them now.
    pub fn new() -> Result<Engine, BuildError> {
        let rules = rules::builtin();
        let fp = plan::fingerprint(&rules);
        let decoded = plan::decode(EMBEDDED, fp, rules.len());
        release_embedded();
        if let Some(compiled) = decoded {
            if let Ok(engine) = Self::assemble(rules, compiled, true) {
                if engine.canary_matches() {
                    return Ok(engine);
                }
            }
        }
        Self::with_rules(rules::builtin())
    }

    /// Builds the engine with the built-in detectors, compiling them now (never the embedded
    /// copy).
    pub fn compile() -> Result<Engine, BuildError> {
        Self::with_rules(rules::builtin())
    }

    /// Whether the databases came precompiled with the binary (startup took no compilation).
    pub fn precompiled(&self) -> bool {
        self.0.precompiled
    }

    pub(crate) fn with_rules(rules: Vec<Rule>) -> Result<Engine, BuildError> {
        let compiled = plan::compile(&rules)?;
        Self::assemble(rules, compiled, false)
    }

    fn assemble(
        rules: Vec<Rule>,
        compiled: Compiled,
        precompiled: bool,
    ) -> Result<Engine, BuildError> {
        let Compiled {
            widths,
            min_width,
            passes,
            keyed,
            whole,
        } = compiled;
        let widest = widths.iter().copied().max().unwrap_or(1);
        let mut stream_size = 0;
        for db in passes.iter().chain(keyed.as_ref()) {
            stream_size += db
                .stream_size()
                .map_err(|e| BuildError::Alloc(e.to_string()))?;
        }
        let tokens = TokenRules::of(&rules);
        let shapes = ShapeRules::of(&rules);
        let masks = Masks::of(&rules);
        if !shapes.covers(&rules) {
            // A detector nobody would run: refuse rather than scan without it.
            return Err(BuildError::Compile {
                index: usize::MAX,
                message: "a detector of the shape pass has no shape scanner".into(),
            });
        }
        // The token and shape scanners' per-stream state lives beside Hyperscan's.
        if tokens.any() {
            stream_size += std::mem::size_of::<TokenStream>();
        }
        if shapes.any() {
            stream_size += std::mem::size_of::<ShapeStream>();
        }
        let inner = Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            passes,
            keyed_db: keyed,
            whole,
            tokens,
            shapes,
            rules,
            widths,
            min_width,
            hold_back: widest + 1,
            // The widest match, its lookahead byte and the byte before it (left boundary).
            history: widest + 2,
            stream_size,
            precompiled,
            masks,
            idle: Mutex::new(Vec::new()),
            idle_keyed: Mutex::new(Vec::new()),
        };
        let engine = Engine(Arc::new(inner));
        // Allocate this thread's scratch now so a broken platform fails at start.
        engine
            .with_scratch(|_| Ok(()))
            .map_err(|e| BuildError::Alloc(e.to_string()))?;
        Ok(engine)
    }

    /// Scans [`CANARY`]: true when every Hyperscan pass runs and finds something in it (the
    /// token and shape scanners' findings do not count: they do not come from the databases),
    /// and the database of whole messages finds exactly what the passes find.
    fn canary_matches(&self) -> bool {
        let scan = |last: bool| {
            let mut s = self.open_stream();
            let mut m = Vec::new();
            self.scan_stream(&mut s, CANARY, &mut m, 0, 0, last).ok()?;
            self.close_stream(&mut s, &mut m).ok()?;
            Some(m)
        };
        let (Some(mut m), Some(mut whole)) = (scan(false), scan(true)) else {
            return false;
        };
        // A stream reports its end-anchored matches last; a block scan, in order.
        m.sort_by_key(|x| (x.to, x.id, x.from));
        whole.sort_by_key(|x| (x.to, x.id, x.from));
        if m != whole {
            return false;
        }
        let rules = &self.0.rules;
        let hyperscan = |r: &Rule| rules::in_hyperscan(r.pass) && r.role != rules::Role::Keyed;
        let mut passes: Vec<u8> = rules
            .iter()
            .filter(|r| hyperscan(r))
            .map(|r| r.pass)
            .collect();
        passes.sort_unstable();
        passes.dedup();
        !passes.is_empty()
            && passes.iter().all(|&p| {
                m.iter()
                    .any(|x| rules[x.id].pass == p && hyperscan(&rules[x.id]))
            })
    }

    /// W: how many trailing normalised bytes a caller must hold back (the widest possible match
    /// plus one byte of lookahead). In input bytes the window is larger when escapes or
    /// compression are involved; [`Scanner::releasable`](crate::Scanner::releasable) accounts for that.
    pub fn hold_back(&self) -> usize {
        self.0.hold_back
    }

    /// Bytes of stream state per open scanner: Hyperscan's (every pass and the keyed database)
    /// and the token and shape scanners'.
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

    /// The shortest match of any detector, labels and context words included: content shorter
    /// than this holds no match of any kind.
    pub(crate) fn min_width(&self) -> usize {
        self.0.min_width
    }

    pub(crate) fn rule(&self, id: usize) -> &Rule {
        &self.0.rules[id]
    }

    pub(crate) fn masks(&self) -> &Masks {
        &self.0.masks
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
                    // One scratch serves every database of the engine.
                    let mut dbs = self.0.passes.iter().chain(self.0.keyed_db.as_ref());
                    let first = dbs
                        .next()
                        .ok_or_else(|| ScanError::Engine("no database".into()))?;
                    let mut s = first
                        .alloc_scratch()
                        .map_err(|e| ScanError::Engine(e.to_string()))?;
                    for db in dbs {
                        db.realloc_scratch(&mut s)
                            .map_err(|e| ScanError::Engine(e.to_string()))?;
                    }
                    if let Some(db) = &self.0.whole {
                        db.realloc_scratch(&mut s)
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
        let idle = self.0.idle_keyed.lock().ok().and_then(|mut v| v.pop());
        let s = match idle {
            Some(s) => s,
            None => k
                .open_stream()
                .map_err(|e| ScanError::Engine(e.to_string()))?,
        };
        Ok(Some(HsStream {
            streams: vec![s],
            open: true,
            sealed: false,
            tokens: None,
            shapes: None,
            keyed: true,
            engine: self.clone(),
        }))
    }

    /// A stream per pass, taken when the first bytes are scanned ([`Engine::scan_stream`]).
    pub(crate) fn open_stream(&self) -> HsStream {
        HsStream {
            streams: Vec::new(),
            open: false,
            sealed: false,
            tokens: self.0.tokens.any().then(TokenStream::default),
            shapes: self.0.shapes.any().then(ShapeStream::default),
            keyed: false,
            engine: self.clone(),
        }
    }

    /// Takes the streams of `stream`'s passes: a reset set from the pool, else new ones.
    fn take_streams(&self, stream: &mut HsStream) -> Result<(), ScanError> {
        if stream.open {
            return Ok(());
        }
        if let Some(streams) = self.0.idle.lock().ok().and_then(|mut v| v.pop()) {
            stream.streams = streams;
        } else {
            let mut streams = Vec::with_capacity(self.0.passes.len());
            for db in &self.0.passes {
                match db.open_stream() {
                    Ok(s) => streams.push(s),
                    Err(e) => {
                        // Not a whole set: those opened so far are closed, not pooled.
                        let _ = self.with_scratch(|scratch| {
                            for s in streams.drain(..) {
                                let _ = s.close(scratch, ());
                            }
                            Ok(())
                        });
                        return Err(ScanError::Engine(e.to_string()));
                    }
                }
            }
            stream.streams = streams;
        }
        stream.open = true;
        Ok(())
    }

    /// Resets `streams` (one per pass, or the keyed one), reporting their end-anchored matches
    /// to `on_match`, and keeps them for the next scanner; past the pool's bound, or when a
    /// reset fails, closes them instead.
    fn recycle(
        &self,
        mut streams: Vec<Stream>,
        keyed: bool,
        mut on_match: Option<&mut dyn FnMut(u32, u64, u64, u32) -> Matching>,
    ) -> Result<(), ScanError> {
        let mut result = Ok(());
        self.with_scratch(|scratch| {
            for s in &streams {
                if result.is_ok() {
                    let r = match on_match.as_mut() {
                        Some(f) => s.reset(scratch, &mut **f),
                        None => s.reset(scratch, ()),
                    };
                    result = r.map_err(|e| ScanError::Engine(e.to_string()));
                }
            }
            Ok(())
        })?;
        if result.is_ok() {
            if keyed {
                if let Ok(mut idle) = self.0.idle_keyed.lock() {
                    if idle.len() < POOLED_STREAMS {
                        idle.extend(streams.drain(..));
                    }
                }
            } else if let Ok(mut idle) = self.0.idle.lock() {
                if idle.len() < POOLED_STREAMS {
                    idle.push(std::mem::take(&mut streams));
                }
            }
        }
        if !streams.is_empty() {
            self.with_scratch(|scratch| {
                for s in streams {
                    let _ = s.close(scratch, ());
                }
                Ok(())
            })?;
        }
        result
    }

    /// Scans `data` in every pass of `stream`; `out` gets the matches in order of end offset.
    /// Matches of the detectors in `skip` are left out, and a matcher all of whose detectors
    /// are in `dead` stops running for good (`dead` must only grow over a stream's life and be
    /// a subset of `skip`). `last`: no more data follows, so a stream that has had none is
    /// scanned whole in block mode when it is short ([`WHOLE_MAX`]); either way the caller
    /// still closes it.
    pub(crate) fn scan_stream(
        &self,
        stream: &mut HsStream,
        data: &[u8],
        out: &mut Vec<RawMatch>,
        skip: RuleSet,
        dead: RuleSet,
        last: bool,
    ) -> Result<(), ScanError> {
        let before = out.len();
        if stream.sealed {
            return Err(ScanError::Engine("stream scanned after its end".into()));
        }
        let whole = self
            .0
            .whole
            .as_ref()
            .filter(|_| last && !stream.open && !stream.keyed && data.len() <= WHOLE_MAX);
        let masks = &self.0.masks;
        let alive = |set: RuleSet| set == 0 || set & !dead != 0;
        let mut sources = 0;
        if let Some(db) = whole {
            // Matches anchored at the end come now: the stream has nothing left to report.
            stream.sealed = true;
            sources += 1;
            self.with_scratch(|scratch| {
                db.scan(data, scratch, self.collector(out, skip))
                    .map_err(|e| ScanError::Engine(e.to_string()))
            })?;
        } else {
            self.take_streams(stream)?;
            let pass_masks: &[RuleSet] = if stream.keyed {
                std::slice::from_ref(&masks.keyed)
            } else {
                &masks.passes
            };
            // One scratch lookup for every pass.
            self.with_scratch(|scratch| {
                for (i, s) in stream.streams.iter().enumerate() {
                    if !pass_masks.get(i).is_none_or(|&m| alive(m)) {
                        continue;
                    }
                    sources += 1;
                    for piece in data.chunks(u32::MAX as usize) {
                        s.scan(piece, scratch, self.collector(out, skip))
                            .map_err(|e| ScanError::Engine(e.to_string()))?;
                    }
                }
                Ok(())
            })?;
        }
        if let Some(t) = stream.tokens.as_mut().filter(|_| alive(masks.tokens)) {
            let from = out.len();
            t.scan(self.0.tokens, data, out);
            drop_skipped(out, from, skip);
            sources += 1;
        }
        if let Some(t) = stream.shapes.as_mut().filter(|_| alive(masks.shapes)) {
            let from = out.len();
            t.scan(self.0.shapes, data, out);
            drop_skipped(out, from, skip);
            sources += 1;
        }
        if sources > 1 {
            // Each source reports in order of end offset; merge so validators see one order
            // (the same whatever the passes: ties by detector).
            out[before..].sort_by_key(|m| (m.to, m.id));
        }
        Ok(())
    }

    /// The match callback: records each match with its start of match, but for the detectors
    /// in `skip`, whose matches cost no more than this test.
    fn collector<'a>(
        &'a self,
        out: &'a mut Vec<RawMatch>,
        skip: RuleSet,
    ) -> impl FnMut(u32, u64, u64, u32) -> Matching + 'a {
        move |id, from, to, _flags| {
            let id = id as usize;
            if skip & rule_bit(id) != 0 {
                return Matching::Continue;
            }
            out.push(RawMatch {
                id,
                from: self.match_start(id, from, to),
                to,
            });
            Matching::Continue
        }
    }

    /// Closes every stream of `stream`, reporting matches anchored at the end of data.
    pub(crate) fn close_stream(
        &self,
        stream: &mut HsStream,
        out: &mut Vec<RawMatch>,
    ) -> Result<(), ScanError> {
        let before = out.len();
        let n = stream.streams.len();
        let result = if stream.open {
            stream.open = false;
            let streams = std::mem::take(&mut stream.streams);
            self.recycle(streams, stream.keyed, Some(&mut self.collector(out, 0)))
        } else {
            // Never scanned: nothing to report, nothing to reset.
            Ok(())
        };
        if let Some(t) = stream.tokens.as_mut() {
            t.close(self.0.tokens, out);
        }
        if let Some(t) = stream.shapes.as_mut() {
            t.close(self.0.shapes, out);
        }
        if n > 1 || stream.tokens.is_some() || stream.shapes.is_some() {
            out[before..].sort_by_key(|m| (m.to, m.id));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Finding;
    use crate::types::StreamOptions;

    fn findings(engine: &Engine, input: &[u8]) -> Vec<Finding> {
        let mut s = engine.scanner(StreamOptions::default()).unwrap();
        for c in input.chunks(7) {
            s.feed(c).unwrap();
        }
        s.finish().unwrap().findings
    }

    #[test]
    fn builtin_engine_comes_precompiled() {
        // The build script embeds the databases; startup must not fall back to compiling.
        let e = Engine::new().unwrap();
        assert!(e.precompiled(), "embedded databases were not used: {e:?}");
        assert!(!Engine::compile().unwrap().precompiled());
    }

    #[test]
    fn precompiled_and_compiled_engines_find_the_same() {
        let input: &[u8] = b"{\"patient\":{\"name\":\"Jane Roe\",\"ssn\":\"123-45-6789\",\"dob\":\"1961-03-04\",\
            \"mbi\":\"1EG4-TE5-MK73\",\"mrn\":\"MRN0048213\",\"phone\":\"(217) 555-0143\",\
            \"card\":\"4111 1111 1111 1111\",\"email\":\"jane.roe@example.org\"}}\n\
            MSH|^~\\&|ADT|H|E|H|20240101||ADT^A01|1|P|2.5\rPID|1||482913^^^H^MR||ROE^JANE||19610304|F\r\
            member_dob,ssn\n1961-03-04,123456789\n";
        let a = findings(&Engine::new().unwrap(), input);
        let b = findings(&Engine::compile().unwrap(), input);
        assert!(a.len() >= 8, "{a:?}");
        assert_eq!(a, b);
    }

    #[test]
    fn embedded_databases_are_refused_for_other_rules_or_damage() {
        let rules = rules::builtin();
        let fp = plan::fingerprint(&rules);
        assert!(plan::decode(EMBEDDED, fp, rules.len()).is_some());
        assert!(plan::decode(EMBEDDED, fp ^ 1, rules.len()).is_none());
        assert!(plan::decode(EMBEDDED, fp, rules.len() + 1).is_none());
        assert!(plan::decode(&EMBEDDED[..EMBEDDED.len() - 1], fp, rules.len()).is_none());
        assert!(plan::decode(b"", fp, rules.len()).is_none());
        let mut other = rules::builtin();
        other[0].pass ^= 1;
        assert_ne!(
            plan::fingerprint(&other),
            fp,
            "the pass is part of the fingerprint"
        );
        // A fresh encoding of a fresh compilation reads back.
        let c = plan::compile(&rules).unwrap();
        let bytes = plan::encode(&c, fp).unwrap();
        let back = plan::decode(&bytes, fp, rules.len()).unwrap();
        assert_eq!(back.widths, c.widths);
        assert_eq!(back.passes.len(), c.passes.len());
    }

    #[test]
    fn each_detector_compiles_alone() {
        let mut failed = Vec::new();
        for (i, mut r) in rules::builtin().into_iter().enumerate() {
            let kind = r.kind;
            // A token detector's pattern must compile too (it sets the detector's width): in
            // Hyperscan, as the baseline of the test below runs it.
            if !rules::in_hyperscan(r.pass) {
                r.pass = 0;
            }
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

    /// Random text around synthetic card numbers and MBIs, with every kind of neighbour their
    /// boundaries care about (digits, capitals, lower case, dashes, dots, separators).
    fn token_input(seed: u64) -> Vec<u8> {
        let mut r = crate::testing::Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut next = move |n: u64| r.below(n);
        let pieces: [&[u8]; 45] = [
            b"4539578763621486", // Visa, Luhn-valid
            b"4539578763621487", // Luhn-invalid
            b"378282246310005",  // American Express
            b"5555555555554444", // Mastercard, but four distinct digits fewer
            b"2223003122003222", // Mastercard 2-series
            b"1EG4TE5MK73",      // MBI
            b"9AA0AA0AA00",      // MBI positions
            b"1SG4TE5MK73",      // S is no MBI letter
            b"7EG4TE5MK7",
            b"1700000000000000", // epoch microseconds
            b"ORDER",
            b"12",
            // Separated shapes (`shapes.rs`) and their near misses.
            b"219-09-9999",
            b"219 09 9999",
            b"219.09.9999",
            b"219-09 9999", // mixed separators
            b"219-099-9999",
            b"000-12-3456",
            b"1EG4-TE5-MK73",
            b"1EG4-TE5-MK7",
            b"1SG4-TE5-MK73",
            b"4539-5787-6362-1486",
            b"4539 5787 6362 1486",
            b"4539-5787-6362 1486",
            b"3782-822463-10005",
            b"3782 822463 10005",
            b"3782-822463 10005",
            b"(555) 867-5309",
            b"(555)867-5309",
            b"(555)  867-5309",
            b"555-867-5309",
            b"555.867.5309",
            b"555-867.5309",
            b"555 867 5309",
            b"2026-03-14T09:26:53Z",
            b"6f1c2e4a-9b3d-4c5e-8f70-123456789abc",
            b"1234-5678-9012",
            b"10.12.13.14",
            b"(555",
            b"-",
            b"555-555-555-5555",
            b"123-45-6789-1234",
            b"((555)",
            b"(555)-867-5309",
            b"1eg4-te5-mk73",
        ];
        let glue = b" ,.-:=\"/xZ9a_\n()";
        let mut v = Vec::new();
        for _ in 0..400 {
            v.extend_from_slice(pieces[next(pieces.len() as u64) as usize]);
            for _ in 0..next(3) {
                v.push(glue[next(glue.len() as u64) as usize]);
            }
        }
        v
    }

    #[test]
    fn token_and_shape_detectors_find_what_hyperscan_finds_with_their_patterns() {
        let builtin = rules::builtin();
        let anchor = builtin.iter().position(|r| r.pass == 0).unwrap();
        let tokens: Vec<usize> = (0..builtin.len())
            .filter(|&i| !rules::in_hyperscan(builtin[i].pass))
            .collect();
        let kinds: Vec<crate::rules::Kind> = tokens
            .iter()
            .filter(|&&i| builtin[i].pass == rules::TOKENS)
            .map(|&i| builtin[i].kind)
            .collect();
        assert_eq!(
            kinds,
            [crate::rules::Kind::Mbi, crate::rules::Kind::CreditCard],
            "the token scanner knows the bare MBI and the bare card number"
        );
        assert!(
            ShapeRules::of(&builtin).covers(&builtin),
            "the shape scanner knows every detector of its pass"
        );
        assert_eq!(tokens.len(), 8, "two token and six shape detectors");
        // The same rules twice: run by the token and shape scanners, and by Hyperscan from
        // their patterns.
        // A Hyperscan rule rides along so both engines have a database.
        let pick = |hs: bool| -> Vec<Rule> {
            let mut v: Vec<Rule> = rules::builtin()
                .into_iter()
                .enumerate()
                .filter(|(i, _)| tokens.contains(i) || *i == anchor)
                .map(|(_, r)| r)
                .collect();
            if hs {
                v.iter_mut().for_each(|r| r.pass = 0);
            }
            v
        };
        let scanner = Engine::with_rules(pick(false)).unwrap();
        let hyperscan = Engine::with_rules(pick(true)).unwrap();
        let mut found = 0;
        for seed in 1..30 {
            let input = token_input(seed);
            let want = findings(&hyperscan, &input);
            found += want.len();
            for chunk in [1, 7, 64, 1000, input.len()] {
                let mut s = scanner.scanner(StreamOptions::default()).unwrap();
                for c in input.chunks(chunk) {
                    s.feed(c).unwrap();
                }
                let got = s.finish().unwrap().findings;
                assert_eq!(got, want, "seed {seed}, chunks of {chunk}");
            }
        }
        assert!(found > 100, "the inputs hold valid values: {found}");
    }

    #[test]
    fn the_canary_needs_every_hyperscan_pass() {
        assert!(Engine::compile().unwrap().canary_matches());
        // Databases that find nothing in the canary fail it, although the shape scanner finds
        // its SSN.
        let rules: Vec<Rule> = rules::builtin()
            .into_iter()
            .filter(|r| r.pass == rules::SHAPES || r.kind == crate::rules::Kind::Dea)
            .collect();
        assert!(rules.iter().any(|r| r.kind == crate::rules::Kind::Ssn));
        let e = Engine::with_rules(rules).unwrap();
        let mut s = e.open_stream();
        let mut m = Vec::new();
        e.scan_stream(&mut s, CANARY, &mut m, 0, 0, false).unwrap();
        assert!(!m.is_empty(), "the shape scanner finds the canary's SSN");
        assert!(!e.canary_matches());
    }

    /// Every raw match of `engine` on `input` fed in pieces of `chunk`, sorted.
    fn raw_matches(engine: &Engine, input: &[u8], chunk: usize) -> Vec<(u64, usize, u64)> {
        let mut s = engine.open_stream();
        let mut m = Vec::new();
        for c in input.chunks(chunk) {
            engine.scan_stream(&mut s, c, &mut m, 0, 0, false).unwrap();
        }
        engine.close_stream(&mut s, &mut m).unwrap();
        let mut v: Vec<_> = m.iter().map(|r| (r.to, r.id, r.from)).collect();
        v.sort_unstable();
        v
    }

    /// Every raw match of `engine` on `input` scanned whole (`last`), sorted.
    fn whole_matches(engine: &Engine, input: &[u8]) -> Vec<(u64, usize, u64)> {
        let mut s = engine.open_stream();
        let mut m = Vec::new();
        engine
            .scan_stream(&mut s, input, &mut m, 0, 0, true)
            .unwrap();
        assert_eq!(s.sealed, input.len() <= WHOLE_MAX, "{} bytes", input.len());
        engine.close_stream(&mut s, &mut m).unwrap();
        let mut v: Vec<_> = m.iter().map(|r| (r.to, r.id, r.from)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn a_whole_scan_finds_what_the_passes_find() {
        // Slices of every kind of traffic the benchmarks use, at their start, middle and end
        // (end-anchored matches), in lengths around the block-mode limit.
        let mut inputs: Vec<Vec<u8>> = vec![CANARY.to_vec()];
        let log = crate::bench_data::api_log(64 << 10, 7);
        let mut phones = Vec::new();
        for (i, line) in crate::bench_data::ApiLogLines::new(11)
            .take(400)
            .enumerate()
        {
            phones.extend_from_slice(line.as_bytes());
            phones
                .extend_from_slice(format!("phone: (415) 555-{:04}\n", i * 37 % 10_000).as_bytes());
        }
        let phi = b"MSH|^~\\&|ADT|H|E|H|20240101||ADT^A01|1|P|2.5\rPID|1||482913^^^H^MR||ROE^JANE||19610304|F\r\
            {\"ssn\":\"219-09-9999\",\"mbi\":\"1EG4-TE5-MK73\",\"birthDate\":\"1961-03-04\",\"mrn\":\"MRN0048213\"}\n\
            member_dob,ssn\n1961-03-04,123456789\nPatient email: jane.doe@mail.test, card 4111 1111 1111 1111"
            .repeat(40);
        for src in [&log[..], &phones[..], &phi[..]] {
            for len in [1, 7, 100, 1000, WHOLE_MAX - 1, WHOLE_MAX, WHOLE_MAX + 1] {
                let len = len.min(src.len());
                for at in [0, src.len() / 2, src.len() - len] {
                    inputs.push(src[at..at + len].to_vec());
                }
            }
        }
        let mut found = 0;
        for engine in [Engine::new().unwrap(), Engine::compile().unwrap()] {
            assert!(engine.0.whole.is_some());
            for input in &inputs {
                let want = raw_matches(&engine, input, input.len());
                assert_eq!(whole_matches(&engine, input), want, "{} bytes", input.len());
                found += want.len();
            }
        }
        assert!(found > 1000, "the inputs hold matches: {found}");
    }

    #[test]
    fn a_stream_scanned_whole_takes_no_more() {
        let e = Engine::new().unwrap();
        let mut s = e.open_stream();
        let mut m = Vec::new();
        e.scan_stream(&mut s, CANARY, &mut m, 0, 0, true).unwrap();
        assert!(
            s.sealed && !s.open,
            "scanned in block mode, no stream taken"
        );
        assert!(e.scan_stream(&mut s, b"more", &mut m, 0, 0, true).is_err());
        assert!(e.scan_stream(&mut s, b"more", &mut m, 0, 0, false).is_err());
        // A stream that had data goes on in streaming mode.
        let mut s = e.open_stream();
        e.scan_stream(&mut s, b"patient ", &mut m, 0, 0, false)
            .unwrap();
        e.scan_stream(&mut s, CANARY, &mut m, 0, 0, true).unwrap();
        assert!(!s.sealed && s.open);
        e.close_stream(&mut s, &mut m).unwrap();
    }

    /// Content shorter than [`Engine::min_width`] is never scanned (`scanner.rs`): it must be
    /// the shortest match of every detector, the embedded databases' copy included.
    #[test]
    fn the_shortest_match_is_the_least_of_every_detector() {
        let rules = rules::builtin();
        let least = rules
            .iter()
            .map(|r| {
                let p = hyperscan::Pattern::with_flags(r.pattern, hyperscan::CompileFlags::empty())
                    .unwrap();
                p.info().unwrap().min_width()
            })
            .min()
            .unwrap();
        assert!(
            least > 1,
            "a detector matches a single byte: nothing to skip"
        );
        let embedded = Engine::new().unwrap();
        assert!(embedded.precompiled());
        assert_eq!(embedded.min_width(), least);
        assert_eq!(Engine::compile().unwrap().min_width(), least);
        // Nothing matches fewer bytes: a match ends no earlier than `least` bytes in.
        let mut m = Vec::new();
        let mut s = embedded.open_stream();
        embedded
            .scan_stream(&mut s, CANARY, &mut m, 0, 0, false)
            .unwrap();
        embedded.close_stream(&mut s, &mut m).unwrap();
        assert!(!m.is_empty());
        assert!(m.iter().all(|x| x.to - x.from >= least as u64));
    }

    #[test]
    fn reused_streams_start_clean_and_the_pool_stays_bounded() {
        let e = Engine::new().unwrap();
        let (head, tail) = CANARY.split_at(CANARY.len() / 2);
        // What streams that never saw anything find in the canary's second half.
        let fresh = raw_matches(&Engine::new().unwrap(), tail, tail.len());
        assert!(!fresh.is_empty());
        // More scanners than the pool keeps, all dropped in the middle of the canary.
        let held: Vec<HsStream> = (0..POOLED_STREAMS + 5)
            .map(|_| {
                let mut s = e.open_stream();
                e.scan_stream(&mut s, head, &mut Vec::new(), 0, 0, false)
                    .unwrap();
                s
            })
            .collect();
        drop(held);
        assert_eq!(e.0.idle.lock().unwrap().len(), POOLED_STREAMS);
        // A stream takes a set when it first scans, not when it opens; one that never scans
        // leaves the pool alone.
        let mut reused: Vec<HsStream> = (0..POOLED_STREAMS).map(|_| e.open_stream()).collect();
        let mut idle = e.open_stream();
        e.close_stream(&mut idle, &mut Vec::new()).unwrap();
        drop(idle);
        assert_eq!(e.0.idle.lock().unwrap().len(), POOLED_STREAMS);
        // Every kept set was reset: each finds in the second half what a new stream finds.
        let mut found: Vec<Vec<RawMatch>> = Vec::new();
        for s in &mut reused {
            let mut m = Vec::new();
            e.scan_stream(s, tail, &mut m, 0, 0, false).unwrap();
            found.push(m);
        }
        assert!(e.0.idle.lock().unwrap().is_empty());
        for (s, mut m) in reused.iter_mut().zip(found) {
            e.close_stream(s, &mut m).unwrap();
            let mut got: Vec<_> = m.iter().map(|r| (r.to, r.id, r.from)).collect();
            got.sort_unstable();
            assert_eq!(got, fresh);
        }
        drop(reused);
        assert_eq!(e.0.idle.lock().unwrap().len(), POOLED_STREAMS);
    }

    #[test]
    fn shape_detectors_report_the_raw_matches_hyperscan_reports() {
        // Stricter than the findings above: before validators and boundaries, the shape scanner
        // must report exactly the (start, end) pairs Hyperscan reports for the same patterns,
        // phone numbers included (a finding only next to patient context).
        let builtin = rules::builtin();
        let anchor = builtin.iter().position(|r| r.pass == 0).unwrap();
        let pick = |hs: bool| -> Vec<Rule> {
            rules::builtin()
                .into_iter()
                .enumerate()
                .filter(|(i, r)| r.pass == rules::SHAPES || *i == anchor)
                .map(|(_, mut r)| {
                    if hs {
                        r.pass = 0;
                    }
                    r
                })
                .collect()
        };
        let shapes = Engine::with_rules(pick(false)).unwrap();
        let hyperscan = Engine::with_rules(pick(true)).unwrap();
        let anchor_id = pick(false)
            .iter()
            .position(|r| rules::in_hyperscan(r.pass))
            .unwrap();
        let mut per_rule = vec![0usize; pick(false).len()];
        for seed in 1..40 {
            let mut input = token_input(seed);
            // A value at the very end, and one before a final newline (`$` matches there too).
            match seed % 3 {
                1 => input.extend_from_slice(b" 219-09-9999"),
                2 => input.extend_from_slice(b" (555) 867-5309\n"),
                _ => {}
            }
            let mut want = raw_matches(&hyperscan, &input, input.len());
            want.retain(|m| m.1 != anchor_id);
            for m in &want {
                per_rule[m.1] += 1;
            }
            for chunk in [1, 2, 7, 19, 31, 32, 33, 64, 65, 1000, input.len()] {
                let mut got = raw_matches(&shapes, &input, chunk);
                got.retain(|m| m.1 != anchor_id);
                assert_eq!(got, want, "seed {seed}, chunks of {chunk}");
            }
        }
        per_rule.remove(anchor_id);
        assert!(
            per_rule.iter().all(|&n| n > 50),
            "every shape is matched often: {per_rule:?}"
        );
    }
}

#[cfg(test)]
mod perf_probe {
    use super::*;

    /// The input named by `PHIMESH_PROBE_FILE`, when set: a probe then measures that traffic
    /// instead of its own clean log.
    fn probe_file() -> Option<Vec<u8>> {
        std::fs::read(std::env::var_os("PHIMESH_PROBE_FILE")?).ok()
    }

    /// Prints per-detector throughput on a digit-heavy log (run with --release --ignored).
    #[test]
    #[ignore]
    fn per_detector_throughput() {
        let mut data = probe_file().unwrap_or_default();
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
                let mut s = e.open_stream();
                let mut m = Vec::new();
                let t = std::time::Instant::now();
                e.scan_stream(&mut s, &data, &mut m, 0, 0, false).unwrap();
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
        let mut data = probe_file().unwrap_or_default();
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
            let mut s = e.open_stream();
            let mut m = Vec::new();
            let t = std::time::Instant::now();
            e.scan_stream(&mut s, &data, &mut m, 0, 0, false).unwrap();
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

#[cfg(test)]
mod partition_search {
    //! Where detectors should run: a greedy search over passes on clean, digit-heavy traffic
    //! (run with `cargo test --release -p phimesh-detect --lib partition_search -- --ignored
    //! --nocapture`). It prints the throughput of the current assignment and each move that
    //! speeds it up by 3 % or more; [`Rule::pass`] records the result.
    use super::*;

    /// The clean API log of `benches/scan.rs`, 4 MiB.
    fn api_log() -> Vec<u8> {
        crate::bench_data::api_log(4 << 20, 0x9e3779b97f4a7c15)
    }

    /// Throughput (MB/s) of scanning `data` in 16 KiB chunks through every group in turn.
    fn total(groups: &[Vec<usize>], data: &[u8]) -> f64 {
        let mut inv = 0.0;
        for g in groups.iter().filter(|g| !g.is_empty()) {
            let rs: Vec<Rule> = rules::builtin()
                .into_iter()
                .enumerate()
                .filter(|(i, _)| g.contains(i))
                .map(|(_, mut r)| {
                    r.pass = 0;
                    r
                })
                .collect();
            let e = Engine::with_rules(rs).unwrap();
            let mut best = 0f64;
            for _ in 0..5 {
                let mut s = e.open_stream();
                let mut m = Vec::new();
                let t = std::time::Instant::now();
                for c in data.chunks(16 << 10) {
                    e.scan_stream(&mut s, c, &mut m, 0, 0, false).unwrap();
                }
                best = best.max(data.len() as f64 / t.elapsed().as_secs_f64() / 1e6);
            }
            inv += 1.0 / best;
        }
        1.0 / inv
    }

    #[test]
    #[ignore]
    fn greedy() {
        let data = api_log();
        let all = rules::builtin();
        // Token detectors (`tokens.rs`) are not Hyperscan's to place.
        let hs = |r: &Rule| r.role != crate::rules::Role::Keyed && rules::in_hyperscan(r.pass);
        let passes = all
            .iter()
            .filter(|r| hs(r))
            .map(|r| r.pass)
            .max()
            .unwrap_or(0) as usize
            + 1;
        let mut groups: Vec<Vec<usize>> = (0..passes)
            .map(|p| {
                (0..all.len())
                    .filter(|&i| hs(&all[i]) && all[i].pass as usize == p)
                    .collect()
            })
            .collect();
        let mut cur = total(&groups, &data);
        eprintln!("current {cur:.0} MB/s {groups:?}");
        for _round in 0..6 {
            let mut best: Option<(f64, Vec<Vec<usize>>)> = None;
            for from in 0..groups.len() {
                for &r in &groups[from] {
                    for to in 0..=groups.len() {
                        if to == from {
                            continue;
                        }
                        let mut g = groups.clone();
                        g[from].retain(|&x| x != r);
                        if to == g.len() {
                            g.push(vec![r]);
                        } else {
                            g[to].push(r);
                        }
                        let t = total(&g, &data);
                        if best.as_ref().is_none_or(|(b, _)| t > *b) {
                            best = Some((t, g));
                        }
                    }
                }
            }
            let Some((t, g)) = best else { break };
            if t < cur * 1.03 {
                break;
            }
            cur = t;
            groups = g;
            eprintln!("{cur:.0} MB/s {groups:?}");
        }
    }
}
