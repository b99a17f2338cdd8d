//! Per-stream scanning: one [`Scanner`] per inspected body and direction.
//!
//! A scanner owns the Hyperscan stream state, a small history window (the hold-back window plus
//! validation context), the decoder and normalizer state, and the findings so far. Its memory is
//! bounded by [`Scanner::memory_bytes`]; nothing in it grows with the size of the body except the
//! findings list, which is capped by [`Limits::max_findings`].

use std::fmt;
use std::sync::Arc;

use crate::capped::Capped;
use crate::decode::Decoder;
use crate::engine::{rule_bit, Engine, RuleSet};
use crate::normalize::Normalizer;
use crate::rules::{Kind, Role};
use crate::types::{
    Finding, Limits, RawMatch, Report, ReportMode, ScanError, StreamOptions, Uninspectable, Verdict,
};
use views::{Budget, Exported, Gathered, ViewCtx, Views};

mod views;

impl Engine {
    /// Opens a scanner for one body in one direction.
    pub fn scanner(&self, opts: StreamOptions) -> Result<Scanner, ScanError> {
        Scanner::new(self.clone(), opts)
    }
}

/// Streaming scanner for one body in one direction. See the crate docs for the hold-back rule.
pub struct Scanner {
    engine: Engine,
    decoder: Decoder,
    normalizer: Normalizer,
    stream: crate::engine::HsStream,
    /// Last bytes of normalised content, for validators; `hist_start` is the absolute
    /// normalised offset of `hist[0]`.
    hist: Vec<u8>,
    hist_start: u64,
    /// Findings whose role is strong (PHI on their own).
    strong: Capped,
    /// Findings that are PHI only with patient context.
    contextual: Capped,
    patient_context: bool,
    /// Kinds whose label ([`Role::Key`]) has been seen.
    keys: Vec<Kind>,
    failed: Option<Uninspectable>,
    raw_matches: Vec<RawMatch>,
    finished: bool,
    decode_buf: Vec<u8>,
    norm_buf: Vec<u8>,
    csv: crate::csv::CsvColumns,
    csv_found: Vec<crate::csv::ColumnFinding>,
    /// Where the first label ([`Role::Key`]) ended: the keyed stream starts there.
    first_key_end: Option<u64>,
    /// The stream on the label-dependent database and its absolute start offset.
    keyed: Option<(crate::engine::HsStream, u64)>,
    /// Encoded segments decoded by child scanners (`views.rs`).
    views: Views,
    /// Nesting depth: 0 for a stream, 1 for a view's child, ...
    depth: u8,
    /// Shared by every scanner of the nest.
    budget: Arc<Budget>,
    limits: Limits,
    plus_as_space: bool,
    /// A child's findings, in its content coordinates, for its parent.
    export: Option<Vec<Exported>>,
    /// Content bytes scanned so far (the next content byte's offset).
    content_seen: u64,
    /// What the report must list.
    mode: ReportMode,
    /// Detectors whose matches can no longer change the report, for the rest of the stream.
    dead: RuleSet,
    /// [`ReportMode::First`]: the verdict is PHI and nothing more is read.
    stopped: bool,
    /// Input bytes fed after the stream stopped.
    unread: u64,
    /// The first content bytes, while there are too few of them to hold any match.
    short: Option<Short>,
}

/// Content too short for any detector ([`Engine::min_width`], and
/// [`crate::csv::SHORTEST_FINDING`] for column values) waits here unscanned: once there is
/// enough, it is scanned as usual, ahead of what follows; when the body ends first (an empty
/// body, `ok`, `{}`), nothing in it can be found and the scanner never touches Hyperscan. It
/// holds fewer bytes than the hold-back window, so it releases nothing that would not be held
/// back anyway.
struct Short {
    buf: [u8; SHORT_MAX],
    len: usize,
    /// Content shorter than this holds nothing to find.
    limit: usize,
}

/// Most content bytes [`Short`] keeps.
const SHORT_MAX: usize = 16;

impl Short {
    fn new(engine: &Engine) -> Option<Short> {
        let limit = engine
            .min_width()
            .min(crate::csv::SHORTEST_FINDING)
            .min(SHORT_MAX);
        (limit > 1).then_some(Short {
            buf: [0; SHORT_MAX],
            len: 0,
            limit,
        })
    }
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never prints history bytes.
        f.debug_struct("Scanner")
            .field("content_bytes", &self.decoder.content_len())
            .field("verdict", &self.verdict())
            .field("findings", &(self.strong.len() + self.contextual.len()))
            .finish()
    }
}

impl Scanner {
    pub(crate) fn new(engine: Engine, opts: StreamOptions) -> Result<Scanner, ScanError> {
        let budget = Budget::new(opts.limits);
        Self::new_child(engine, opts, 0, budget)
    }

    /// A scanner at `depth` of a nest sharing `budget`; below the top it exports its findings.
    pub(crate) fn new_child(
        engine: Engine,
        opts: StreamOptions,
        depth: u8,
        budget: Arc<Budget>,
    ) -> Result<Scanner, ScanError> {
        let stream = engine.open_stream();
        Ok(Scanner {
            decoder: Decoder::new(opts.decoding, opts.limits),
            normalizer: Normalizer::new(opts.plus_as_space),
            stream,
            hist: Vec::with_capacity(engine.history_len() * 2),
            hist_start: 0,
            strong: Capped::new(opts.limits.max_findings),
            contextual: Capped::new(opts.limits.max_findings),
            patient_context: false,
            keys: Vec::new(),
            failed: None,
            raw_matches: Vec::new(),
            finished: false,
            decode_buf: Vec::new(),
            norm_buf: Vec::new(),
            csv: crate::csv::CsvColumns::new(),
            csv_found: Vec::new(),
            first_key_end: None,
            keyed: None,
            views: Views::new(),
            depth,
            budget,
            limits: opts.limits,
            plus_as_space: opts.plus_as_space,
            export: (depth > 0).then(Vec::new),
            content_seen: 0,
            mode: opts.report,
            dead: 0,
            stopped: false,
            unread: 0,
            short: Short::new(&engine),
            engine,
        })
    }

    /// Decodes quoted-printable from the start (a view's child).
    pub(crate) fn set_quoted_printable(&mut self) {
        self.normalizer.set_quoted_printable();
    }

    /// Whether the stream has patient context.
    pub(crate) fn patient_context(&self) -> bool {
        self.patient_context
    }

    /// A child's findings since the last call.
    pub(crate) fn take_exported(&mut self) -> Vec<Exported> {
        self.export.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Runs `f` on the views with this scanner's context, then records what they gathered.
    fn with_views(
        &mut self,
        f: impl FnOnce(&mut Views, &ViewCtx<'_>, &mut Gathered) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        let mut g = Gathered::default();
        let ctx = ViewCtx {
            engine: &self.engine,
            depth: self.depth,
            budget: &self.budget,
            limits: self.limits,
            plus_as_space: self.plus_as_space,
            report: self.mode,
        };
        let r = f(&mut self.views, &ctx, &mut g);
        self.absorb(g);
        r
    }

    /// Records what the views gathered.
    fn absorb(&mut self, g: Gathered) {
        if g.patient_context {
            self.patient_context = true;
        }
        for e in g.normalized {
            self.record(e.kind, e.role, e.start, e.end);
        }
        for e in g.content {
            self.record_content(e.kind, e.role, e.start, e.end);
        }
        if let Some(u) = g.failed {
            self.failed.get_or_insert(u);
        }
    }

    /// Feeds the next bytes of the body, as they arrived on the wire (before any decoding).
    ///
    /// Returns the verdict so far. Once a stream is uninspectable it stays so and further input
    /// is ignored.
    pub fn feed(&mut self, input: &[u8]) -> Result<Verdict, ScanError> {
        self.feed_with(input, false)
    }

    /// [`Scanner::feed`]; `whole`: `input` is the whole body, and plain content
    /// ([`Scanner::feed_last`]).
    fn feed_with(&mut self, input: &[u8], whole: bool) -> Result<Verdict, ScanError> {
        if self.stopped {
            self.unread += input.len() as u64;
            return Ok(self.verdict());
        }
        if self.finished && !input.is_empty() {
            return Err(ScanError::AfterEnd);
        }
        if self.failed.is_some() || self.finished {
            return Ok(self.verdict());
        }
        if self.depth == 0 {
            self.budget.add_root_input(input.len() as u64);
        }
        let mut buf = std::mem::take(&mut self.decode_buf);
        let res = match self.decoder.push(input, &mut buf) {
            Ok(content) => self.scan_content(content, whole),
            Err(e) => {
                // Whatever decoded before the error is still scanned: it may hold PHI.
                let r = self.scan_content(&buf, false);
                self.failed = Some(e.into());
                r
            }
        };
        self.decode_buf = buf;
        res?;
        self.stop_if_decided();
        Ok(self.verdict())
    }

    /// Feeds the last bytes of the body and ends it: the same as [`Scanner::feed`] then
    /// [`Scanner::finish_in_place`], and cheaper when `input` is the whole body (a request head,
    /// a small body that arrived in one piece), which then goes through every detector in one
    /// call rather than a stream per pass.
    pub fn feed_last(&mut self, input: &[u8]) -> Result<Verdict, ScanError> {
        // Only a fresh scanner of plain content sees the whole body in this call; a decoder or
        // a body fed in pieces goes the usual way.
        let whole = !self.finished
            && self.failed.is_none()
            && self.content_seen == 0
            && self.short.as_ref().is_none_or(|s| s.len == 0)
            && self.decoder.is_identity();
        self.feed_with(input, whole)?;
        self.finish_in_place()
    }

    /// [`ReportMode::First`]: once the verdict is PHI, nothing more is read.
    fn stop_if_decided(&mut self) {
        if self.mode == ReportMode::First && !self.stopped && self.verdict() == Verdict::Phi {
            self.stopped = true;
        }
    }

    /// Whether the stream stopped reading ([`ReportMode::First`] with a PHI verdict).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Ends the body: flushes decoders, reports matches anchored at the end, and gives the
    /// final report.
    pub fn finish(mut self) -> Result<Report, ScanError> {
        self.finish_in_place()?;
        Ok(self.report())
    }

    /// Like [`Scanner::finish`] but keeps the scanner, so a caller can still read offsets.
    pub fn finish_in_place(&mut self) -> Result<Verdict, ScanError> {
        if self.finished {
            return Ok(self.verdict());
        }
        self.stop_if_decided();
        if self.stopped {
            self.finished = true;
            return Ok(self.verdict());
        }
        if self.failed.is_none() {
            let mut out = std::mem::take(&mut self.decode_buf);
            let res = self.decoder.finish(&mut out);
            self.scan_content(&out, false)?;
            self.decode_buf = out;
            if let Err(e) = res {
                self.failed = Some(e.into());
            }
            let tail = self.normalizer.finish();
            self.scan_normalized(&tail, false)?;
        }
        self.with_views(|v, ctx, g| v.finish(ctx, g))?;
        self.finished = true;
        let mut found = std::mem::take(&mut self.csv_found);
        self.csv.finish(self.normalizer.output_len(), &mut found);
        self.record_columns(&mut found);
        let mut matches = std::mem::take(&mut self.raw_matches);
        matches.clear();
        self.engine.close_stream(&mut self.stream, &mut matches)?;
        // The streams report at their end without the per-chunk filter: apply it here.
        let skip = self.skip_from(self.normalizer.output_len());
        matches.retain(|m| skip & rule_bit(m.id) == 0);
        if let Some((mut stream, base)) = self.keyed.take() {
            let mut keyed = Vec::new();
            self.engine.close_stream(&mut stream, &mut keyed)?;
            matches.extend(keyed.into_iter().map(|mut m| {
                m.from += base;
                m.to += base;
                m
            }));
        }
        self.validate_matches(&matches, &[], self.normalizer.output_len());
        Ok(self.verdict())
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Verdict {
        if let Some(u) = self.failed {
            return Verdict::Uninspectable(u);
        }
        if !self.strong.is_empty() || (self.patient_context && !self.contextual.is_empty()) {
            Verdict::Phi
        } else {
            Verdict::Clean
        }
    }

    /// Findings that make the verdict so far, ordered by start offset.
    pub fn findings(&self) -> Vec<Finding> {
        let mut v = self.strong.items().to_vec();
        if self.patient_context || !self.strong.is_empty() {
            v.extend_from_slice(self.contextual.items());
        }
        v.sort_by_key(|f| (f.start, f.end, f.kind));
        if self.mode != ReportMode::All {
            // The first listed finding of each kind.
            let mut seen = 0u32;
            v.retain(|f| {
                let bit = 1 << f.kind as u32;
                let new = seen & bit == 0;
                seen |= bit;
                new
            });
        }
        v
    }

    /// The report so far (final after [`Scanner::finish_in_place`]).
    pub fn report(&self) -> Report {
        let verdict = self.verdict();
        Report {
            findings: if verdict == Verdict::Phi {
                self.findings()
            } else {
                Vec::new()
            },
            verdict,
            content_bytes: self.decoder.content_len(),
        }
    }

    /// Absolute offset in the *input* (wire bytes as fed) before which every byte may be
    /// released: no match that could still be reported includes any byte before it.
    /// After [`Scanner::finish_in_place`] it is the whole input.
    pub fn releasable(&self) -> u64 {
        if self.finished {
            return self.decoder.input_len();
        }
        let norm_pos = self.normalizer.output_len();
        let safe_norm = norm_pos.saturating_sub(self.engine.hold_back() as u64);
        let safe_norm = match self.csv.pending_start() {
            Some(p) => safe_norm.min(p),
            None => safe_norm,
        };
        let safe_norm = safe_norm.min(self.views.normalized_hold());
        let safe_content = self
            .normalizer
            .content_offset(safe_norm)
            .min(self.normalizer.safe_content())
            .min(self.views.content_hold());
        self.decoder.input_offset_for(safe_content)
    }

    /// Input bytes fed so far (read or, once a [`ReportMode::First`] stream stopped, not).
    pub fn input_len(&self) -> u64 {
        self.decoder.input_len() + self.unread
    }

    /// Content bytes (after transfer decoding) seen so far.
    pub fn content_len(&self) -> u64 {
        self.decoder.content_len()
    }

    /// Upper bound of the memory this stream holds: Hyperscan stream state, history window,
    /// decoder and normaliser state, findings.
    pub fn memory_bytes(&self) -> usize {
        self.engine.stream_size()
            + self.hist.capacity()
            + self.decoder.memory_bytes()
            + self.normalizer.memory_bytes()
            + self.strong.memory_bytes()
            + self.contextual.memory_bytes()
            + self.raw_matches.capacity() * std::mem::size_of::<RawMatch>()
            + self.csv.memory_bytes()
            + self.views.memory_bytes()
    }

    /// Scans content; `whole`: it is all the content there will be (see [`Scanner::feed_with`]).
    fn scan_content(&mut self, content: &[u8], whole: bool) -> Result<(), ScanError> {
        if content.is_empty() {
            return Ok(());
        }
        if let Some(short) = self.short.as_mut() {
            let len = short.len + content.len();
            if len < short.limit {
                short.buf[short.len..len].copy_from_slice(content);
                short.len = len;
                return Ok(());
            }
            // Enough to scan: what waited goes first.
            if let Some(short) = self.short.take().filter(|s| s.len > 0) {
                self.scan_content_now(&short.buf[..short.len], false)?;
            }
        }
        self.scan_content_now(content, whole)
    }

    fn scan_content_now(&mut self, content: &[u8], whole: bool) -> Result<(), ScanError> {
        let start = self.content_seen;
        self.content_seen += content.len() as u64;
        self.with_views(|v, ctx, g| v.on_content(content, start, ctx, g))?;
        let mut norm = std::mem::take(&mut self.norm_buf);
        let pushed = self.normalizer.push(content, &mut norm);
        // The whole body: an escape left open at its end is flushed now, so that one scan
        // covers everything (the normaliser's `finish` then has nothing left).
        let tail = if whole {
            self.normalizer.finish()
        } else {
            Vec::new()
        };
        let r = match (pushed, tail.is_empty()) {
            (None, true) => self.scan_normalized(content, whole),
            (None, false) => {
                norm.clear();
                norm.extend_from_slice(content);
                norm.extend_from_slice(&tail);
                self.scan_normalized(&norm, whole)
            }
            (Some(()), _) => {
                norm.extend_from_slice(&tail);
                self.scan_normalized(&norm, whole)
            }
        };
        self.norm_buf = norm;
        r
    }

    /// Scans normalised bytes that end at the normaliser's current output offset; `whole`:
    /// they are all there will be, so Hyperscan may take them in one block-mode call.
    fn scan_normalized(&mut self, data: &[u8], whole: bool) -> Result<(), ScanError> {
        if data.is_empty() {
            return Ok(());
        }
        if self.stopped {
            return Ok(());
        }
        let chunk_start = self.normalizer.output_len() - data.len() as u64;
        let mut matches = std::mem::take(&mut self.raw_matches);
        matches.clear();
        let skip = self.skip_from(chunk_start);
        let r =
            self.engine
                .scan_stream(&mut self.stream, data, &mut matches, skip, self.dead, whole);
        self.validate_matches(&matches, data, chunk_start);
        // The first label opens the keyed stream, fed from where the label ended.
        let mut keyed_result = Ok(());
        if let Some(key_end) = self.first_key_end {
            if self.keyed.is_none() {
                if let Some(stream) = self.engine.open_keyed_stream()? {
                    self.keyed = Some((stream, key_end.max(chunk_start)));
                }
            }
            let keyed_skip = self.skip_from(chunk_start);
            if let Some((stream, base)) = self.keyed.as_mut() {
                let from = (*base).max(chunk_start);
                let skip = (from - chunk_start) as usize;
                if skip < data.len() {
                    let base = *base;
                    matches.clear();
                    keyed_result = self.engine.scan_stream(
                        stream,
                        &data[skip..],
                        &mut matches,
                        keyed_skip,
                        self.dead,
                        false,
                    );
                    for m in matches.iter_mut() {
                        m.from += base;
                        m.to += base;
                    }
                    self.validate_matches(&matches, data, chunk_start);
                }
            }
        }
        self.raw_matches = matches;
        if self.csv.active() {
            let mut found = std::mem::take(&mut self.csv_found);
            self.csv.push(data, chunk_start, &mut found);
            self.record_columns(&mut found);
            self.csv_found = found;
        }
        // Keep the last history_len bytes as context for matches that span chunks.
        let keep = self.engine.history_len();
        if data.len() >= keep {
            self.hist.clear();
            self.hist.extend_from_slice(&data[data.len() - keep..]);
            self.hist_start = chunk_start + (data.len() - keep) as u64;
        } else {
            if self.hist.is_empty() {
                self.hist_start = chunk_start;
            }
            self.hist.extend_from_slice(data);
            if self.hist.len() > 2 * keep {
                let cut = self.hist.len() - keep;
                self.hist.drain(..cut);
                self.hist_start += cut as u64;
            }
        }
        self.normalizer.prune(self.hist_start);
        let v = self.with_views(|v, ctx, g| v.on_normalized(data, chunk_start, ctx, g));
        r.and(keyed_result).and(v)
    }

    /// Bytes `[start, end)` of normalised content, from the current chunk or the history window.
    fn match_bytes<'a>(
        &'a self,
        start: u64,
        end: u64,
        chunk: &'a [u8],
        chunk_start: u64,
    ) -> Option<std::borrow::Cow<'a, [u8]>> {
        let chunk_end = chunk_start + chunk.len() as u64;
        let hist_end = self.hist_start + self.hist.len() as u64;
        if start >= chunk_start && end <= chunk_end {
            let s = (start - chunk_start) as usize;
            let e = (end - chunk_start) as usize;
            return Some(std::borrow::Cow::Borrowed(&chunk[s..e]));
        }
        if start >= self.hist_start && end <= hist_end {
            let s = (start - self.hist_start) as usize;
            let e = (end - self.hist_start) as usize;
            return Some(std::borrow::Cow::Borrowed(&self.hist[s..e]));
        }
        if start >= self.hist_start
            && start < hist_end
            && end > chunk_start
            && end <= chunk_end
            && hist_end >= chunk_start
        {
            // Spans the history tail and the current chunk (history ends where the chunk begins).
            let mut v = self.hist
                [(start - self.hist_start) as usize..(chunk_start - self.hist_start) as usize]
                .to_vec();
            v.extend_from_slice(&chunk[..(end - chunk_start) as usize]);
            return Some(std::borrow::Cow::Owned(v));
        }
        None
    }

    fn validate_matches(&mut self, matches: &[RawMatch], chunk: &[u8], chunk_start: u64) {
        for m in matches {
            if self.dead & rule_bit(m.id) != 0 {
                continue;
            }
            let rule = self.engine.rule(m.id);
            // Once a list is full, a match past its reach cannot change it or the verdict: skip
            // validating it. (A finding starts no earlier than its match.)
            let from = || self.normalizer.content_offset(m.from);
            let saturated = match rule.role {
                Role::Strong => self.strong.full_from(from()),
                Role::Contextual => self.contextual.full_from(from()),
                Role::Context => self.patient_context,
                Role::Key => self.keys.contains(&rule.kind),
                // A value before its label does not count (CSV headers come first).
                Role::Keyed => !self.keys.contains(&rule.kind) || self.strong.full_from(from()),
            };
            if saturated {
                continue;
            }
            if let Some(reject) = rule.not_after {
                if m.from > 0 {
                    if let Some(prev) = self.match_bytes(m.from - 1, m.from, chunk, chunk_start) {
                        // A `-` or `.` after a letter joins a label to its value
                        // (`X-SSN-219-09-9999`, `ssn-219-09-9999.example`), not one number to
                        // another (`1-219-09-9999`, `2024.219-09-9999`).
                        let label_joint = rule.role == Role::Strong
                            && matches!(prev[0], b'-' | b'.')
                            && m.from > 1
                            && self
                                .match_bytes(m.from - 2, m.from - 1, chunk, chunk_start)
                                .is_some_and(|b| b[0].is_ascii_alphabetic());
                        // A label glued to its value: `SSN219-09-9999`.
                        let label_glued = rule.kind == Kind::Ssn
                            && m.from >= 3
                            && self
                                .match_bytes(m.from - 3, m.from, chunk, chunk_start)
                                .is_some_and(|b| b.eq_ignore_ascii_case(b"ssn"));
                        if reject(prev[0]) && !label_joint && !label_glued {
                            continue;
                        }
                    }
                }
            }
            let Some(bytes) = self.match_bytes(m.from, m.to, chunk, chunk_start) else {
                // History did not cover the match: cannot happen while patterns are bounded by
                // the history length (checked at build). Be conservative and keep it.
                self.record(rule.kind, rule.role, m.from, m.to);
                continue;
            };
            if let Some((s, e)) = (rule.validate)(&bytes) {
                self.record(rule.kind, rule.role, m.from + s as u64, m.from + e as u64);
            }
        }
    }

    /// Detectors whose matches can no longer change the report, from a chunk that starts at
    /// normalised offset `norm` on: [`Self::dead`], which this updates. A list that is full from
    /// the earliest start a match of the chunk can have (`norm` less the widest match) takes no
    /// finding of its role any more (a finding past a full list's reach is left out), and with
    /// it the labels that only open the way to strong findings. Patient context has nothing left
    /// to say once the stream has it, or has a strong finding (then contextual findings are
    /// listed and the verdict is PHI without it).
    fn skip_from(&mut self, norm: u64) -> RuleSet {
        let m = self.engine.masks();
        if self.patient_context || !self.strong.is_empty() {
            self.dead |= m.context;
        }
        if self.strong.is_empty() && self.contextual.is_empty() {
            return self.dead;
        }
        let from = self
            .normalizer
            .content_offset(norm.saturating_sub(self.engine.hold_back() as u64));
        if self.strong.full_from(from) {
            self.dead |= m.all_strong | m.all_keys;
        }
        if self.contextual.full_from(from) {
            self.dead |= m.all_contextual;
        }
        self.dead
    }

    fn record_columns(&mut self, found: &mut Vec<crate::csv::ColumnFinding>) {
        if self.csv.patient_context {
            self.patient_context = true;
        }
        for f in found.drain(..) {
            self.record(f.kind, f.role, f.start, f.end);
        }
    }

    fn record(&mut self, kind: Kind, role: Role, norm_start: u64, norm_end: u64) {
        match role {
            Role::Context => {
                self.patient_context = true;
                self.dead |= self.engine.masks().context;
                return;
            }
            Role::Key => {
                if !self.keys.contains(&kind) {
                    self.keys.push(kind);
                    self.dead |= self.engine.masks().key[kind as usize];
                }
                if self.first_key_end.is_none() {
                    self.first_key_end = Some(norm_end);
                }
                return;
            }
            _ => {}
        }
        let start = self.normalizer.content_offset(norm_start);
        let end = self.normalizer.content_offset(norm_end);
        self.record_content(kind, role, start, end);
    }

    /// Records a finding at content offsets (after the role's bookkeeping in [`Self::record`]).
    fn record_content(&mut self, kind: Kind, role: Role, start: u64, end: u64) {
        if let Some(x) = self.export.as_mut() {
            x.push(Exported {
                kind,
                role,
                start,
                end,
            });
        }
        let f = Finding { kind, start, end };
        match role {
            Role::Strong | Role::Keyed => self.strong.record(f),
            _ => self.contextual.record(f),
        }
    }
}
